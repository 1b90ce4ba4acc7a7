//! Shrinking a photo on the phone, in a piece of wasm of its own ([`crate::components::later`]):
//! the file is checked by its header before anything decodes it ([`photo::check_source`]),
//! decoded by the browser (turned as the camera held it), drawn at [`photo::fit`]'s size and
//! encoded as a JPEG, at a lower quality when it comes out much larger than
//! [`photo::AIM_BYTES`]. The encoding carries no metadata, so the location is gone; the result is
//! checked by the rule the server applies ([`photo::check_kept`]) before it is kept.

use js_sys::Uint8Array;
use shequ_model::photo::{self, PhotoError, PhotoId};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, ImageBitmap, ImageEncodeOptions, OffscreenCanvas};

/// Qualities tried in turn; the last one is kept whatever its size.
const QUALITIES: [f64; 4] = [0.82, 0.7, 0.55, 0.4];

fn failed(_: JsValue) -> String {
    crate::tc!(photo.unavailable)
}

async fn bytes_of(blob: &Blob) -> Result<Uint8Array, String> {
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(failed)?;
    Ok(Uint8Array::new(&buffer))
}

/// The photo `file` shrunk, and its id.
pub async fn shrink(file: File) -> Result<(PhotoId, Uint8Array), String> {
    let len = file.size() as u64;
    if len > photo::MAX_SOURCE_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: len,
            limit: photo::MAX_SOURCE_BYTES,
        }
        .to_string());
    }
    let head = file
        .slice_with_f64_and_f64(0.0, len.min(photo::SOURCE_HEAD) as f64)
        .map_err(failed)?;
    let head = bytes_of(&head).await?.to_vec();
    photo::check_source(&head, len).map_err(|e| e.to_string())?;
    drop(head);
    let window = web_sys::window().ok_or_else(|| failed(JsValue::NULL))?;
    let decoding = window
        .create_image_bitmap_with_blob(&file)
        .map_err(failed)?;
    let bitmap: ImageBitmap = JsFuture::from(decoding)
        .await
        .map_err(|_| PhotoError::NotAnImage.to_string())?
        .dyn_into()
        .map_err(failed)?;
    let (width, height) = photo::fit(bitmap.width(), bitmap.height());
    let canvas = OffscreenCanvas::new(width, height).map_err(failed)?;
    let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(failed)?
        .ok_or_else(|| failed(JsValue::NULL))?
        .dyn_into()
        .map_err(|_| failed(JsValue::NULL))?;
    // A transparent picture becomes white, not black, as a JPEG.
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, width as f64, height as f64);
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, width as f64, height as f64)
        .map_err(failed)?;
    bitmap.close();
    for (i, quality) in QUALITIES.iter().enumerate() {
        let options = ImageEncodeOptions::new();
        options.set_type("image/jpeg");
        options.set_quality(*quality);
        let encoding = canvas
            .convert_to_blob_with_options(&options)
            .map_err(failed)?;
        let blob: Blob = JsFuture::from(encoding)
            .await
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let last = i + 1 == QUALITIES.len();
        if !last && blob.size() as usize > photo::AIM_BYTES * 3 / 2 {
            continue;
        }
        let bytes = bytes_of(&blob).await?;
        let kept = bytes.to_vec();
        photo::check_kept(&kept).map_err(|e| e.to_string())?;
        return Ok((PhotoId::of(&kept), bytes));
    }
    unreachable!("the last quality is always kept")
}
