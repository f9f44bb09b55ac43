//! A protocol-faithful Baostock server with a deterministic synthetic market (in progress).
