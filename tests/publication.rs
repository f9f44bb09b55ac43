//! A trading day as the real server publishes it, in stages (daily bars 17:30, factors 18:00,
//! minute bars 20:00, a week's bar on its Saturday 17:30, China time), on the shared cluster:
//! the test is written in tests/harness/stages.rs, which tests/citus.rs runs on a coordinator.

use pg_baostock_cluster_tests::stages;

#[test]
fn each_kind_is_stored_by_the_first_call_after_its_publication_and_never_marked_before() {
    stages::each_kind_is_stored_by_the_first_call_after_its_publication_and_never_marked_before();
}
