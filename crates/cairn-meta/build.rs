//! `sqlx::migrate!` embeds the migration files at compile time, but a proc macro cannot
//! tell cargo to watch a directory; this does, so a new migration triggers a rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
