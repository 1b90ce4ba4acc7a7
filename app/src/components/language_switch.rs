//! The switch between 中文 and English, on every page. It names the language it switches to, in
//! that language, so that someone who cannot read the current one still finds it.

use crate::i18n::{t, use_i18n, I18nLocaleTrait, Locale};
use leptos::prelude::*;

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let other = move || match i18n.get_locale() {
        Locale::zh_CN => Locale::en,
        Locale::en => Locale::zh_CN,
    };
    view! {
        <div class="lang-bar">
            <button class="lang-switch" data-testid="language" lang=move || other().as_str()
                on:click=move |_| i18n.set_locale(other())>
                {t!(i18n, language.switch)}
            </button>
        </div>
    }
}
