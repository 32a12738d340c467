//! REST API resources under `/services/data/vXX.X/`, and the glue that runs a write
//! transaction for a request.

pub mod collections;
pub mod composite;
pub mod describe;
pub mod json;
pub mod misc;
pub mod query;
pub mod replication;
pub mod sobject;

use std::sync::Arc;

use parking_lot::Mutex;

use super::api::Ctx;
use super::state::Emulator;
use super::write::{RecordError, Txn, UndoLog};
use crate::salesforce::api::ApiError;

/// Where an enclosing `allOrNone` composite request collects undo logs.
pub type UndoSink = Arc<Mutex<Vec<UndoLog>>>;

/// Runs `f` in a write transaction acting as the caller, with injected
/// `UNABLE_TO_LOCK_ROW` faults for `path`; ends revoked users' sessions afterwards.
pub fn write<T>(em: &Emulator, ctx: &Ctx, path: &str, f: impl FnOnce(&mut Txn<'_>) -> T) -> T {
    write_as(em, ctx.now, ctx.user, path, ctx.undo_sink.as_ref(), f)
}

/// [`write`] for an explicit user and time (control API mutations).
pub fn write_as<T>(
    em: &Emulator,
    now: i64,
    user: u32,
    path: &str,
    sink: Option<&UndoSink>,
    f: impl FnOnce(&mut Txn<'_>) -> T,
) -> T {
    let mut org = em.data.write();
    let deactivated;
    let out;
    {
        let mut txn = Txn::new(&mut org, now, user);
        let faults = &em.faults;
        let path = path.to_owned();
        let counters = &em.counters;
        txn.lock_fault = Some(Box::new(move || {
            let hit = faults.lock().decide_lock(&path);
            if hit {
                counters.lock().faults_injected += 1;
            }
            hit
        }));
        out = f(&mut txn);
        if let Some(sink) = sink {
            sink.lock().push(txn.take_undo());
        }
        deactivated = txn.commit();
    }
    drop(org);
    if !deactivated.is_empty() {
        let mut auth = em.auth.lock();
        for u in deactivated {
            auth.drop_user(u);
        }
    }
    em.touch();
    out
}

/// A single-record failure as a REST error response.
pub fn record_error(e: RecordError) -> ApiError {
    let mut err = ApiError::bad(&e.code, e.message);
    err.items[0].fields = Some(e.fields);
    err
}
