//! Integration tests: the library and the real binary against the simulator, on SQLite always
//! and on Postgres when `TEST_DATABASE_URL` is set.

mod support;

mod backfill;
mod boards;
mod cli;
mod clock;
mod commits;
mod crash;
mod credentials;
mod credentials_api;
mod deploy;
mod entra;
mod faults;
mod pipelines;
mod pr_depth;
mod server;
mod service;
mod shifting;
mod status;
mod validate;
mod webhooks;
mod webhooks_cli;
