//! One file per route.
pub mod admin;
pub mod figure_records;
pub mod home;
pub mod later;
pub mod login;
pub mod record;
pub mod record_view;
pub mod report;
pub mod targets;
