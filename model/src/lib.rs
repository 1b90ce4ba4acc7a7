//! Shequ's shared crate: the plain types both the phone (wasm32) and the server use.
//!
//! * [`plan`]: the yearly work plan (forms, fields, indicators, targets) as data, with its parser
//!   and validator;
//! * [`record`]: records, their revisions and the validation of their content against a form;
//! * [`area`]: the division hierarchy (county → town → village) and its CSV import format;
//! * [`sync`]: the wire types of the sync protocol;
//! * [`client`] and [`device`]: the device's side of sync, and the rules of what a device writes;
//! * [`history`]: a record's revisions, who made them and what each changed, field by field;
//! * [`listing`]: records read from the server a page at a time, for accounts that do not keep
//!   their scope on the phone;
//! * [`assessment`]: the unified assessment (综合考核评比), units ranked by points from their
//!   figures;
//! * [`rollup`]: the pure arithmetic that turns records into indicator values against targets,
//!   now or as of the end of a month ([`month`]), and how a figure is written ([`shown`]).
//!
//! No I/O lives here, so everything is tested natively.
#![forbid(unsafe_code)]

pub mod area;
pub mod assessment;
pub mod auth;
pub mod client;
pub mod device;
pub mod history;
pub mod listing;
pub mod merge;
pub mod month;
pub mod photo;
pub mod plan;
pub mod record;
pub mod rollup;
pub mod shown;
pub mod sync;
pub mod table;
pub mod wall;

pub use area::{Area, Level, UnitCode};
pub use plan::Plan;
pub use record::{FieldError, Revision};
