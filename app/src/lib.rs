//! Shequ's phone app: a Leptos PWA for village and community workers, and the county and town
//! pages for supervisors. Everything a worker saves goes to IndexedDB first ([`store`]) and
//! reaches the server by [`sync`] whenever there is a connection.

pub mod api;
pub mod components;
pub mod ids;
pub mod language;
pub mod piece;
pub mod routes;
pub mod state;
pub mod store;
pub mod sync;

use crate::components::language_switch::LanguageSwitch;
use crate::i18n::t;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy};

// The `i18n` module: the texts of app/locales, checked at compile time. The crate now prefers a
// build script, whose generator brings ICU's data-export tooling into every build; the macro reads
// the same files with none of it.
#[allow(deprecated)]
mod i18n_module {
    leptos_i18n::load_locales!();
}
pub use i18n_module::i18n;

#[component]
pub fn App() -> impl IntoView {
    let i18n = language::provide();
    let state = state::AppState::new();
    provide_context(state);
    state.start();
    // index.html's first screen stands until the app can show the right page in its place: the
    // login form typed into stays in front of the app's "reading" line, and the app's login takes
    // over what was typed before the screen goes.
    Effect::new(move || {
        if state.loaded.get() {
            if let Some(boot) = document().get_element_by_id("boot") {
                boot.remove();
            }
        }
    });
    view! {
        <Router>
            <main class="page">
                <LanguageSwitch/>
                // Nothing asks the server before the phone's session is read back.
                <Show when=move || state.loaded.get() fallback=move || view! { <p class="muted">{t!(i18n, app.loading)}</p> }>
                <routes::login::SignedIn>
                <Routes fallback=move || view! { <p class="empty">{t!(i18n, app.not_found)}</p> }>
                    <Route path=path!("/") view=routes::home::Home/>
                    <Route path=path!("/new/:form") view=routes::record::NewRecord/>
                    <Route path=path!("/record/:id") view=routes::record::EditRecord/>
                    <Route path=path!("/view/:id") view=routes::record_view::RecordView/>
                    <Route path=path!("/records") view={Lazy::<routes::later::Records>::new()}/>
                    <Route path=path!("/county") view={Lazy::<routes::later::County>::new()}/>
                    <Route path=path!("/town/:code") view={Lazy::<routes::later::Town>::new()}/>
                    <Route path=path!("/unit/:code") view={Lazy::<routes::later::Town>::new()}/>
                    <Route path=path!("/admin") view={Lazy::<routes::later::Admin>::new()}/>
                    <Route path=path!("/targets") view={Lazy::<routes::later::Targets>::new()}/>
                </Routes>
                </routes::login::SignedIn>
                </Show>
            </main>
        </Router>
    }
}
