//! pg_baostock: keeps China A-share market data from Baostock in sync from inside PostgreSQL.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn extension_schema_exists() {
        let n = Spi::get_one::<i64>("SELECT count(*) FROM pg_namespace WHERE nspname = 'baostock'");
        assert_eq!(n, Ok(Some(1)));
    }
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
