//! The supervisors' and administrators' pages, each in a piece of wasm of its own, off a village
//! worker's critical path: the phone shows its first form before any of them arrives. `cargo xtask
//! build` splits them off (`wasm_split_cli_support`, as cargo-leptos does). The service worker
//! precaches every piece but the administrator's after the first screen (a worker's own progress
//! page is a report, and opens offline), and keeps the administrator's once it is fetched.
//!
//! The router awaits a page's piece, then draws the page in the route's own reactive owner, so the
//! page reads its context (state, language, route parameters) as if it had been there from the
//! start. A piece that cannot be fetched (offline before it was ever opened) leaves the app
//! running and says so: a failed load must not abort the wasm the worker's records live in.

use crate::i18n::{t, use_i18n};
use crate::piece::NotLoaded;
use leptos::prelude::*;
use leptos::wasm_split::wasm_split;
use leptos_router::LazyRoute;

fn not_loaded() -> AnyView {
    let i18n = use_i18n();
    view! {
        <section class="conflict" role="alert" data-testid="page-not-loaded">
            <strong>{t!(i18n, app.page_not_loaded)}</strong>
            <p>{t!(i18n, app.page_not_loaded_help)}</p>
            <button class="btn" on:click=|_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }>{t!(i18n, app.retry)}</button>
        </section>
    }
    .into_any()
}

macro_rules! later {
    ($route:ident, $piece:ident, $load:ident, $page:path) => {
        pub struct $route;

        #[wasm_split($piece, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $load() -> Result<AnyView, NotLoaded> {
            Ok(view! { <$page/> }.into_any())
        }

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_: Self) -> AnyView {
                $load().await.unwrap_or_else(|NotLoaded| not_loaded())
            }
        }
    };
}

// Pages that share most of their code share a piece.
later!(County, report, county_page, super::report::CountyPage);
later!(Town, report, town_page, super::report::TownPage);
later!(
    Records,
    records,
    records_page,
    super::figure_records::FigureRecords
);
later!(Admin, admin, admin_page, super::admin::AdminPage);
later!(Targets, admin, targets_page, super::targets::TargetsPage);
