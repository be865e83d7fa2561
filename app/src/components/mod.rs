//! Leptos components, one per file. They read the shared [`ctx::Ctx`] from context.

pub mod app;
pub mod authoring;
pub mod banner;
pub(crate) mod canvas_overview;
pub mod ctx;
pub mod diagnostics;
pub mod diff_summary;
pub mod editor;
pub mod explanation;
pub mod exposure_info;
pub mod generate;
pub mod graph_bar;
pub mod graph_canvas;
pub mod graph_state;
pub mod graph_view;
pub mod header;
pub mod help;
pub mod legend;
pub mod matrix_view;
pub mod namespace_info;
pub mod node_info;
pub mod node_tiers;
pub mod tier_chain;
pub mod toolbar;
pub mod tutorial;
pub mod whatif_line;
