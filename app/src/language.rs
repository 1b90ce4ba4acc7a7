//! Which language the app speaks: zh-CN unless the user chose English with the switch. The
//! browser's language is not asked (the users are Chinese officials on whatever phone they have);
//! the choice is kept in localStorage, read and written only here.

use crate::i18n::{I18nLocaleTrait, Locale};
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use std::cell::Cell;

const KEY: &str = "shequ.language";

thread_local! {
    /// The language as code outside the views reads it (messages made after an await, with no
    /// reactive owner to ask).
    static CURRENT: Cell<Locale> = Cell::new(Locale::default());
}

/// The language in use now, untracked: for messages that are made once and then shown.
pub fn current() -> Locale {
    CURRENT.with(Cell::get)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The language chosen on this phone before, else zh-CN.
fn chosen() -> Locale {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|l| l.parse::<Locale>().ok())
        .unwrap_or_default()
}

/// Makes the app's language context and keeps the choice: in storage, in `<html lang>` (so the
/// browser and screen readers read the page in it) and for [`current`].
pub fn provide() -> I18nContext<Locale> {
    let first = chosen();
    CURRENT.with(|c| c.set(first));
    let i18n = leptos_i18n::context::init_i18n_subcontext(Some(Signal::stored(first)));
    provide_context(i18n);
    Effect::new(move || {
        let locale = i18n.get_locale();
        CURRENT.with(|c| c.set(locale));
        if let Some(s) = storage() {
            let _ = s.set_item(KEY, locale.as_str());
        }
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", locale.as_str());
        }
    });
    i18n
}

/// A text with values: each `{name}` of `text` replaced by its value. The crate fills values
/// into a string only with an option its build-script generator sets, and that generator brings
/// ICU's data-export tooling into every build; so the texts say `{name}` and are filled here.
pub fn fill(text: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    values.iter().fold(text.to_string(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), &value.to_string())
    })
}

/// `tf!(i18n, ns.key, name = value, …)`: a text of the current language with its values, tracked
/// (a view that shows it follows the switch).
#[macro_export]
macro_rules! tf {
    ($i18n:expr, $ns:ident.$key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::language::fill(
            &$crate::i18n::t_string!($i18n, $ns.$key),
            &[$((stringify!($name), &$value)),+],
        )
    };
}

/// `tc!(ns.key)` or `tc!(ns.key, name = value, …)`: a text in the language of the moment, for a
/// message made outside a view (after an await, in a handler) and shown as it was made.
#[macro_export]
macro_rules! tc {
    ($ns:ident.$key:ident) => {
        $crate::i18n::td_string!($crate::language::current(), $ns.$key).to_string()
    };
    ($ns:ident.$key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::language::fill(
            &$crate::i18n::td_string!($crate::language::current(), $ns.$key),
            &[$((stringify!($name), &$value)),+],
        )
    };
}
