//! The API budget and failures: a run stops at the task's share of the daily allowance
//! with `BudgetExhausted` and the next run continues where it stopped; Salesforce's own
//! `TotalRequests` refusal is the same condition; a 10% fault rate still converges.

use std::sync::Arc;

use cairn_emulator::salesforce::{FaultKind, FaultRule};
use cairn_salesforce::{ApiBudget, DiscardTokens, ErrorKind, SalesforceApp};

use super::support::{Backup, RunReport, client_with, config, connect, dump, start_org};

#[tokio::test]
async fn the_budget_stops_a_run_and_the_next_run_completes_it() {
    let sf = start_org(31).await;
    let app = super::support::app(&sf);
    let tokens = connect(&sf, &app).await;
    let control = sf.control();
    control.set_api_allowance(200);
    control.reset_api_usage();

    let budget = Arc::new(ApiBudget::new(25));
    let client = client_with(
        &app,
        tokens.clone(),
        Arc::new(DiscardTokens),
        budget.clone(),
    );
    // The /limits call is itself counted.
    assert_eq!(client.load_limits().await.unwrap(), (1, 200));
    let mut backup = Backup::default();
    let mut report = RunReport::default();
    let e = backup.run(&client, &mut report).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BudgetExhausted, "{e}");
    assert!(matches!(
        e,
        cairn_salesforce::SalesforceError::BudgetExhausted {
            org_limit: false,
            limit_percent: 25,
            ..
        }
    ));
    let (used, max) = control.info().api_usage;
    assert_eq!(max, 200);
    assert!(used <= 50, "the task stayed within 25% of 200: {used}");
    assert_eq!(budget.calls(), used, "every call went through the budget");
    let partial: usize = backup.objects.values().map(|s| s.records.len()).sum();
    assert!(
        partial > 0,
        "some objects were read before the budget ran out"
    );

    // A day later the allowance has rolled off; the next run continues from the
    // checkpoints. (Formulas on TODAY() changed meanwhile without a new SystemModstamp:
    // calculated fields are not part of stored records, so the backup still matches.)
    control.advance_clock(25 * 3600 * 1000);
    let calls_before = control
        .counters()
        .by_endpoint
        .get("describe.sobject")
        .copied()
        .unwrap_or(0);
    let client = client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );
    control.set_api_allowance(100_000);
    let mut report = RunReport::default();
    backup.run(&client, &mut report).await.unwrap();
    backup.assert_matches(&dump(&sf));
    let calls_after = control
        .counters()
        .by_endpoint
        .get("describe.sobject")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        calls_before, calls_after,
        "finished discovery is not redone"
    );
}

#[tokio::test]
async fn the_orgs_own_limit_refusal_is_budget_exhaustion() {
    let sf = start_org(32).await;
    let app = super::support::app(&sf);
    let tokens = connect(&sf, &app).await;
    let client = client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );
    sf.control().set_faults(vec![FaultRule {
        kind: FaultKind::RequestLimit,
        rate: 1.0,
        count: Some(1),
        path_prefix: None,
    }]);
    let e = client.describe_global().await.unwrap_err();
    assert!(
        matches!(
            e,
            cairn_salesforce::SalesforceError::BudgetExhausted {
                org_limit: true,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_ten_percent_fault_rate_still_converges() {
    let sf = start_org(33).await;
    let mut cfg = config(&sf);
    cfg.bulk_threshold = 400;
    cfg.bulk_chunk_records = 300;
    let app = SalesforceApp::new(cfg).unwrap();
    let tokens = connect(&sf, &app).await;
    let client = client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );
    let rule = |kind, rate| FaultRule {
        kind,
        rate,
        count: None,
        path_prefix: None,
    };
    sf.control().set_faults(vec![
        rule(FaultKind::ServerError, 0.04),
        rule(FaultKind::Unavailable, 0.04),
        rule(FaultKind::ConcurrentLimit, 0.02),
    ]);
    let mut backup = Backup::default();
    let mut report = RunReport::default();
    backup.run(&client, &mut report).await.unwrap();
    let counters = sf.control().counters();
    assert!(counters.faults_injected >= 3, "{counters:?}");
    assert!(client.stats().retries() >= counters.faults_injected);
    sf.control().clear_faults();
    backup.assert_matches(&dump(&sf));
}
