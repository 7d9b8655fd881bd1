//! Screens: each one's state, its keys and its drawing together.

pub mod config_error;
pub mod details;
pub mod issue_form;
pub mod main;
pub mod result;
