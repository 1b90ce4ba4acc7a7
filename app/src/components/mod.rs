//! Reusable pieces of the pages.
pub mod assessment;
pub mod chart;
pub mod field;
pub mod format;
pub mod held_records;
pub mod language_switch;
pub mod later;
pub mod month_chart;
pub mod offers;
pub mod person_archive;
pub mod photo_shrink;
pub mod photos;
pub mod record_pages;
pub mod submissions;
pub mod sync_bar;
