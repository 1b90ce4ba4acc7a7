//! Photo evidence: what a photo Shequ keeps is, how the phone shrinks one, and how a record names
//! its photos.
//!
//! A record's photo field holds the [`PhotoId`]s of its photos, each the SHA-256 of the photo's
//! bytes: the photo itself travels after the record, in a queue of its own, and a photo sent
//! twice is kept once. The phone shrinks what the camera or the gallery gives it to a JPEG whose
//! long side is at most [`LONG_SIDE`]; re-encoding drops the metadata, the location with it.
//! [`check_kept`] is the rule both sides apply to the result: the phone before it stores a photo,
//! the server before it keeps one. [`check_source`] is what the phone asks of a file before it
//! decodes it, so that a file that is not an image, or an image bomb, is refused unopened.

use crate::plan::{FieldKind, Form};
use crate::record::Content;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The longest side of a photo as the phone keeps it, in pixels.
pub const LONG_SIDE: u32 = 1280;
/// The size the phone aims at; a photo that does not reach it at the first quality is encoded
/// again at a lower one.
pub const AIM_BYTES: usize = 150 * 1024;
/// The largest photo kept, in bytes: what the phone makes stays well below it.
pub const MAX_BYTES: usize = 512 * 1024;
/// The largest file the phone opens to shrink (a camera's photo is 3–12 MB).
pub const MAX_SOURCE_BYTES: u64 = 30 * 1024 * 1024;
/// The most pixels the phone decodes: a 50-megapixel camera's photo, and no image bomb.
pub const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// The most photos one field holds.
pub const MAX_PER_FIELD: usize = 6;

/// A photo's name: the SHA-256 of its bytes, 64 lower-case hex digits. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(try_from = "String", into = "String")]
pub struct PhotoId(String);

impl PhotoId {
    /// The id of these bytes.
    pub fn of(bytes: &[u8]) -> PhotoId {
        PhotoId(crate::record::sha256_hex(bytes))
    }

    pub fn parse(s: &str) -> Result<PhotoId, String> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(PhotoId(s.to_string()))
        } else {
            Err("照片编号应为 64 位十六进制数".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhotoId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PhotoId::parse(&s)
    }
}

impl From<PhotoId> for String {
    fn from(p: PhotoId) -> String {
        p.0
    }
}

impl fmt::Display for PhotoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most photos one question about them names.
pub const MAX_ASKED: usize = 100;

/// The phone's question before it uploads: which of these does the server want?
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhotoAsk {
    pub ids: Vec<PhotoId>,
}

/// The server's answer: those a record in the account's scope names, and whether it holds each;
/// the others are named by no record it has (yet: the record may still be on its way).
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PhotoAnswer {
    pub missing: Vec<PhotoId>,
    pub held: Vec<PhotoId>,
    pub unnamed: Vec<PhotoId>,
}

/// Why a photo or a file is refused, worded for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoError {
    TooLarge {
        bytes: u64,
        limit: u64,
    },
    NotAnImage,
    TooManyPixels {
        width: u64,
        height: u64,
    },
    /// A kept photo must be a JPEG of at most [`LONG_SIDE`] (with a margin) on its long side.
    NotShrunk {
        width: u32,
        height: u32,
    },
    /// A kept photo carries no metadata (Exif holds the location).
    HasMetadata,
}

impl fmt::Display for PhotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhotoError::TooLarge { bytes, limit } => write!(
                f,
                "文件太大({}),照片不能超过 {}",
                size_text(*bytes),
                size_text(*limit)
            ),
            PhotoError::NotAnImage => f.write_str("这个文件不是照片(应为 JPEG、PNG、WebP 等图片)"),
            PhotoError::TooManyPixels { width, height } => write!(
                f,
                "图片尺寸过大({width}×{height}),不能超过 {} 万像素",
                MAX_SOURCE_PIXELS / 10_000
            ),
            PhotoError::NotShrunk { width, height } => write!(
                f,
                "照片应为长边不超过 {LONG_SIDE} 像素的 JPEG,这张是 {width}×{height}"
            ),
            PhotoError::HasMetadata => f.write_str("照片不能带拍摄信息(含位置)"),
        }
    }
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// How much of a file's beginning [`check_source`] needs: the size is in the header, after the
/// metadata (at most a few 64 KB segments).
pub const SOURCE_HEAD: u64 = 1024 * 1024;

/// What the phone asks of a file before decoding it: not too large, an image it can read, and
/// not more pixels than it can hold. `head` is the file's first [`SOURCE_HEAD`] bytes (all of
/// it when shorter) and `len` its size. Returns its width and height as stored (before any
/// rotation its metadata asks for).
pub fn check_source(head: &[u8], len: u64) -> Result<(u64, u64), PhotoError> {
    if len > MAX_SOURCE_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: len,
            limit: MAX_SOURCE_BYTES,
        });
    }
    let size = imagesize::blob_size(head).map_err(|_| PhotoError::NotAnImage)?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 {
        return Err(PhotoError::NotAnImage);
    }
    if width.saturating_mul(height) > MAX_SOURCE_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    Ok((width, height))
}

/// The size a photo of `width` × `height` is shrunk to: its long side at most [`LONG_SIDE`],
/// never enlarged, the proportions kept.
pub fn fit(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= LONG_SIDE || long == 0 {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        ((side as u64 * LONG_SIDE as u64 + long as u64 / 2) / long as u64).max(1) as u32
    };
    (scale(width), scale(height))
}

/// What a kept photo is: a baseline or progressive JPEG of at most [`MAX_BYTES`], whose long
/// side is at most [`LONG_SIDE`] (a few pixels more are let through: rounding differs between
/// browsers), with no Exif or XMP segment. Returns its width and height.
pub fn check_kept(bytes: &[u8]) -> Result<(u32, u32), PhotoError> {
    if bytes.len() > MAX_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len() as u64,
            limit: MAX_BYTES as u64,
        });
    }
    let (width, height) = jpeg_frame(bytes)?;
    if width == 0 || height == 0 {
        return Err(PhotoError::NotAnImage);
    }
    if width.max(height) > LONG_SIDE + 8 {
        return Err(PhotoError::NotShrunk { width, height });
    }
    Ok((width, height))
}

/// Walks a JPEG's segments up to its first scan: the frame's size, refusing metadata.
fn jpeg_frame(bytes: &[u8]) -> Result<(u32, u32), PhotoError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(PhotoError::NotAnImage);
    }
    let mut at = 2;
    let mut frame = None;
    loop {
        // Markers may be padded with 0xFF.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(PhotoError::NotAnImage);
        };
        at += 2;
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue;
        }
        let len = match (bytes.get(at), bytes.get(at + 1)) {
            (Some(&a), Some(&b)) => u16::from_be_bytes([a, b]) as usize,
            _ => return Err(PhotoError::NotAnImage),
        };
        if len < 2 || at + len > bytes.len() {
            return Err(PhotoError::NotAnImage);
        }
        let segment = &bytes[at + 2..at + len];
        match marker {
            0xDA => return frame.ok_or(PhotoError::NotAnImage),
            // APP1 holds Exif (where the location is) and XMP; APP13 holds IPTC.
            0xE1 | 0xED => return Err(PhotoError::HasMetadata),
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if segment.len() < 5 {
                    return Err(PhotoError::NotAnImage);
                }
                let height = u16::from_be_bytes([segment[1], segment[2]]) as u32;
                let width = u16::from_be_bytes([segment[3], segment[4]]) as u32;
                frame = Some((width, height));
            }
            _ => {}
        }
        at += len;
    }
}

/// Checks a photo field's value: a list of at most [`MAX_PER_FIELD`] distinct photo ids.
pub(crate) fn check_field_value(v: &Value) -> Result<(), String> {
    let list = v.as_array().ok_or("应为照片列表")?;
    if list.len() > MAX_PER_FIELD {
        return Err(format!("最多 {MAX_PER_FIELD} 张照片"));
    }
    let mut seen = std::collections::HashSet::new();
    for p in list {
        let id = p.as_str().ok_or("应为照片列表")?;
        PhotoId::parse(id)?;
        if !seen.insert(id) {
            return Err("同一张照片放了两次".into());
        }
    }
    Ok(())
}

/// The photos a record's content names, in its form's photo fields, in order. Values that are
/// not photo ids are left out (the content's check refuses them).
pub fn refs(form: &Form, content: &Content) -> Vec<PhotoId> {
    let mut out = Vec::new();
    for f in form.fields.iter().filter(|f| f.kind == FieldKind::Photos) {
        if let Some(Value::Array(list)) = content.get(&f.id) {
            for p in list {
                if let Some(id) = p.as_str().and_then(|s| PhotoId::parse(s).ok()) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG header: SOI, the given segments, a frame of `w` × `h`, a scan.
    fn jpeg(w: u16, h: u16, extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        let mut seg = |marker: u8, body: &[u8]| {
            b.extend([0xFF, marker]);
            b.extend(((body.len() + 2) as u16).to_be_bytes());
            b.extend(body);
        };
        seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        for (m, body) in extra {
            seg(*m, body);
        }
        let mut frame = vec![8];
        frame.extend(h.to_be_bytes());
        frame.extend(w.to_be_bytes());
        frame.extend([1, 1, 0x11, 0]);
        seg(0xC0, &frame);
        seg(0xDA, &[1, 1, 0, 0, 63, 0]);
        b.extend([0x12, 0x34, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn a_shrunk_jpeg_is_kept_with_its_size() {
        assert_eq!(check_kept(&jpeg(1280, 960, &[])), Ok((1280, 960)));
        assert_eq!(check_kept(&jpeg(720, 1280, &[])), Ok((720, 1280)));
    }

    #[test]
    fn a_photo_with_exif_or_too_large_or_not_a_jpeg_is_refused() {
        assert_eq!(
            check_kept(&jpeg(1280, 960, &[(0xE1, b"Exif\0\0MM")])),
            Err(PhotoError::HasMetadata)
        );
        assert_eq!(
            check_kept(&jpeg(4000, 3000, &[])),
            Err(PhotoError::NotShrunk {
                width: 4000,
                height: 3000
            })
        );
        assert_eq!(check_kept(b"GIF89a......"), Err(PhotoError::NotAnImage));
        assert_eq!(check_kept(b""), Err(PhotoError::NotAnImage));
        let mut cut = jpeg(100, 100, &[]);
        cut.truncate(12);
        assert_eq!(check_kept(&cut), Err(PhotoError::NotAnImage));
        // A header whose segment claims more bytes than the file has.
        let mut long = jpeg(100, 100, &[]);
        long[5] = 0xFF;
        assert_eq!(check_kept(&long), Err(PhotoError::NotAnImage));
        let big = vec![0u8; MAX_BYTES + 1];
        assert!(matches!(check_kept(&big), Err(PhotoError::TooLarge { .. })));
    }

    #[test]
    fn an_image_bomb_is_refused_before_it_is_decoded() {
        // 60000 × 60000 declared in a few bytes.
        let bomb = jpeg(60000, 60000, &[]);
        assert_eq!(
            check_source(&bomb, bomb.len() as u64),
            Err(PhotoError::TooManyPixels {
                width: 60000,
                height: 60000
            })
        );
        assert_eq!(
            check_source(&jpeg(4000, 3000, &[]), 4_000_000),
            Ok((4000, 3000))
        );
        assert_eq!(
            check_source(b"not an image at all", 19),
            Err(PhotoError::NotAnImage)
        );
        assert!(matches!(
            check_source(&jpeg(4000, 3000, &[]), 50 * 1024 * 1024),
            Err(PhotoError::TooLarge { .. })
        ));
    }

    #[test]
    fn fit_keeps_the_proportions_and_never_enlarges() {
        assert_eq!(fit(4000, 3000), (1280, 960));
        assert_eq!(fit(3000, 4000), (960, 1280));
        assert_eq!(fit(800, 600), (800, 600));
        assert_eq!(fit(100_000, 1), (1280, 1));
    }

    #[test]
    fn an_id_is_the_hash_of_the_bytes() {
        let id = PhotoId::of(b"abc");
        assert_eq!(
            id.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(PhotoId::parse(&id.as_str().to_uppercase()).is_err());
        assert!(PhotoId::parse("abc").is_err());
    }

    #[test]
    fn a_field_value_is_a_short_list_of_distinct_ids() {
        let a = PhotoId::of(b"a").to_string();
        let b = PhotoId::of(b"b").to_string();
        assert!(check_field_value(&serde_json::json!([a, b])).is_ok());
        assert!(check_field_value(&serde_json::json!([a, a])).is_err());
        assert!(check_field_value(&serde_json::json!(["x"])).is_err());
        assert!(check_field_value(&serde_json::json!(a)).is_err());
        let many: Vec<String> = (0..7).map(|i| PhotoId::of(&[i]).to_string()).collect();
        assert!(check_field_value(&serde_json::json!(many)).is_err());
    }
}
