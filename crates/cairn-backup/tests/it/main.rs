//! Integration tests of the backup engine against the Salesforce emulator.

mod support;

mod dropbox_backup;
mod dropbox_support;

mod failures;
mod full;
mod resume;
