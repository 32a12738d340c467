//! Other processes of the same installation: [`WorkerProcess`] is what `cairn worker`
//! starts (job workers and the scheduler, the ops endpoints), against a test app's
//! database and vault, on a runtime of its own so a test can kill it the way a machine
//! dies — mid-job, with no chance to hand its jobs back — and another process can take
//! the jobs over once their leases run out.
//!
//! Waiting for a job to end is [`TestApp::wait_for_job`]: the meta store is polled every
//! few milliseconds up to a deadline (the queue is shared by processes that may not be
//! this one, so the store is where the answer is).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::runtime::Runtime;

use cairn::{Role, RunningApp, StartOptions};
use cairn_domain::ids::{AccountId, JobId};
use cairn_domain::{Job, ManualClock};

use crate::TestApp;

/// How long [`TestApp::wait_for_job`] waits before failing the test.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(180);

/// How often [`TestApp::wait_for_job`] looks at the job.
const JOB_POLL: Duration = Duration::from_millis(20);

/// A worker process: [`Role::Worker`] of the test app's configuration, with a clock of
/// its own, on its own runtime.
#[derive(Debug)]
pub struct WorkerProcess {
    runtime: Option<Runtime>,
    app: Option<RunningApp>,
    clock: Arc<ManualClock>,
}

impl WorkerProcess {
    /// Starts a worker process against `test`'s database and vault.
    ///
    /// # Errors
    /// Whatever stops `cairn worker` from starting.
    pub async fn start(test: &TestApp) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-test-worker")
            .enable_all()
            .build()
            .context("building the worker's runtime")?;
        let clock = Arc::new(ManualClock::starting_now());
        let mut config = test.config.clone();
        config.server.bind = "127.0.0.1:0".parse().context("bind address")?;
        let options = StartOptions {
            clock: clock.clone(),
            role: Role::Worker,
            demo: false,
        };
        let started = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::bind(config.server.bind).await?;
            cairn::app::start(Arc::new(config), listener, options)
                .await
                .map_err(anyhow::Error::from)
        });
        let app = match started.await {
            Ok(Ok(app)) => app,
            Ok(Err(error)) => {
                runtime.shutdown_background();
                return Err(error.context("starting a worker process"));
            }
            Err(error) => {
                runtime.shutdown_background();
                return Err(anyhow::anyhow!(
                    "the worker process crashed starting: {error}"
                ));
            }
        };
        Ok(Self {
            runtime: Some(runtime),
            app: Some(app),
            clock,
        })
    }

    /// This process's clock: advance it to let its workers take over expired leases.
    #[must_use]
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Stops the process as `cairn worker` stops on a signal: running jobs go back to
    /// the queue.
    pub async fn shutdown(mut self) {
        if let (Some(runtime), Some(app)) = (self.runtime.take(), self.app.take()) {
            let _ = runtime.spawn(app.shutdown()).await;
            runtime.shutdown_background();
        }
    }

    /// Kills the process: every task of its runtime stops where it is. Its jobs keep
    /// their leases, which lapse since nothing heartbeats any more.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        // What the dead runtime's tasks held is gone with them; the rest is dropped.
        drop(self.app.take());
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl TestApp {
    /// Waits until job `id` of `account` has ended (succeeded, partially succeeded,
    /// failed or canceled), whichever process runs it, and returns it.
    ///
    /// # Panics
    /// After [`JOB_TIMEOUT`], with the job's status and log; on store failures.
    pub async fn wait_for_job(&self, account: AccountId, id: JobId) -> Job {
        let deadline = Instant::now() + JOB_TIMEOUT;
        let jobs = self.store().account(account).jobs();
        loop {
            let job = match jobs.get(id).await {
                Ok(job) => job,
                Err(error) => panic!("reading job {id}: {error}"),
            };
            if job.status.is_terminal() {
                return job;
            }
            if Instant::now() >= deadline {
                let log = jobs.logs(id, 0, 100).await.unwrap_or_default();
                let lines: Vec<&str> = log.iter().map(|l| l.message.as_str()).collect();
                panic!(
                    "job {id} did not end within {JOB_TIMEOUT:?}: status {}, attempts {}, progress {:?}, log {lines:#?}",
                    job.status, job.attempts, job.progress
                );
            }
            tokio::time::sleep(JOB_POLL).await;
        }
    }
}
