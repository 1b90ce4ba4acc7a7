//! Ids made on the phone: UUIDv7 from the wall clock and the browser's crypto random source, so
//! a record has its id before the server ever sees it.

use uuid::{Builder, Uuid};

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

pub fn new_id() -> Uuid {
    let mut bytes = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    Builder::from_unix_timestamp_millis(now_ms(), &bytes).into_uuid()
}
