//! QR codes for otpauth URIs: error-correction level M (about 15% of the code may be damaged and still read),
//! always with the 4-module quiet zone the QR standard (ISO/IEC 18004) requires, as SVG or 1-bit greyscale PNG.

use qrcode::{Color, EcLevel, QrCode, types::QrError as EncodeError};

/// The quiet zone around the code, in modules.
pub const QUIET_ZONE: usize = 4;
/// The largest PNG scale, in pixels per module.
pub const MAX_SCALE: u32 = 32;

/// Why a QR code could not be drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in a version 40 code at level M.
    #[error("the text is too long for a QR code")]
    DataTooLong,
    /// A PNG scale outside 1..=32.
    #[error("the scale must be 1 to 32 pixels per module, not {0}")]
    InvalidScale(u32),
    /// The PNG encoder failed.
    #[error("the PNG encoder failed")]
    ImageEncodingFailed,
}

/// The QR code of `text` as a standalone SVG document.
pub fn render_svg(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// The QR code of `text` as a 1-bit greyscale PNG with `scale` pixels per module.
pub fn render_png(text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=MAX_SCALE).contains(&scale) {
        return Err(QrError::InvalidScale(scale));
    }
    let code = encode(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let scale = scale as usize;
    let side = (modules + 2 * QUIET_ZONE) * scale;
    let row_bytes = side.div_ceil(8);

    // 1-bit greyscale: a set bit is white. Start all white, then clear the dark modules' pixels.
    let mut pixels = vec![0xffu8; row_bytes * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (module_x, module_y) = (index % modules + QUIET_ZONE, index / modules + QUIET_ZONE);
        for y in module_y * scale..(module_y + 1) * scale {
            for x in module_x * scale..(module_x + 1) * scale {
                if let Some(byte) = pixels.get_mut(y * row_bytes + x / 8) {
                    *byte &= !(0x80 >> (x % 8));
                }
            }
        }
    }

    let side = u32::try_from(side).map_err(|_| QrError::ImageEncodingFailed)?;
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(|_| QrError::ImageEncodingFailed)?;
    writer.write_image_data(&pixels).map_err(|_| QrError::ImageEncodingFailed)?;
    writer.finish().map_err(|_| QrError::ImageEncodingFailed)?;
    Ok(png)
}

fn encode(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|error| match error {
        // Byte-mode input of any content picks its own version, so running out of room is the only failure.
        EncodeError::DataTooLong
        | EncodeError::InvalidVersion
        | EncodeError::UnsupportedCharacterSet
        | EncodeError::InvalidEciDesignator
        | EncodeError::InvalidCharacter => QrError::DataTooLong,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/Example%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
                       &issuer=Example%20Co&algorithm=SHA1&digits=6&period=30";

    /// Decodes a PNG and reads the QR code in it.
    fn decode_png(png_bytes: &[u8]) -> (u32, String) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        let (width, height) = (info.width as usize, info.height as usize);
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| buffer[y * width + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(meta.ecc_level, 0, "rqrr numbers level M as 0");
        (info.width, content)
    }

    #[test]
    fn png_decodes_back_to_the_uri() {
        let png = render_png(URI, 4).unwrap();
        let (width, content) = decode_png(&png);
        assert_eq!(content, URI);
        let modules = QrCode::with_error_correction_level(URI, EcLevel::M).unwrap().width() as u32;
        assert_eq!(width, (modules + 8) * 4, "4-module quiet zone on each side");
    }

    #[test]
    fn png_has_a_white_quiet_zone() {
        let png = render_png("hello", 2).unwrap();
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png.as_slice()));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        let width = info.width as usize;
        let border = QUIET_ZONE * 2;
        for y in 0..width {
            for x in 0..width {
                let inside = (border..width - border).contains(&x) && (border..width - border).contains(&y);
                if !inside {
                    assert_eq!(buffer[y * width + x], 255, "({x}, {y})");
                }
            }
        }
        // The finder pattern's top-left corner is dark.
        assert_eq!(buffer[border * width + border], 0);
    }

    #[test]
    fn svg_is_a_standalone_document_with_a_quiet_zone() {
        let svg = render_svg(URI).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("<svg"));
        assert!(svg.contains("#000000"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn bad_requests_get_typed_errors() {
        assert_eq!(render_png(URI, 0), Err(QrError::InvalidScale(0)));
        assert_eq!(render_png(URI, 33), Err(QrError::InvalidScale(33)));
        let huge = "x".repeat(3000);
        assert_eq!(render_png(&huge, 1), Err(QrError::DataTooLong));
        assert_eq!(render_svg(&huge), Err(QrError::DataTooLong));
    }
}
