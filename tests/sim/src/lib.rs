//! Shequ's fault simulation.
//!
//! Many simulated devices, each running the real sync engine ([`shequ_model::client`]) over an
//! in-memory replica with the phone store's semantics, talk to a real `shequ-server` process
//! through a transport that drops requests, drops responses after the server has committed,
//! duplicates requests and re-sends stale ones out of order — while the server is killed with
//! SIGKILL and restarted at random moments. Then the faults stop, everyone syncs, and the run checks
//! that every revision acknowledged to a device is on the server exactly once, and that every
//! device and the server hold the same data, with equal checksums.

pub mod bench;
pub mod national;
pub mod replica;
pub mod rng;
pub mod server;
pub mod sim;
pub mod transport;
