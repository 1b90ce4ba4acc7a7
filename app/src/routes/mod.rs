//! One file per route.
pub mod home;
pub mod record;
pub mod report;
