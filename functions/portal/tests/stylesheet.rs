//! The stylesheet's colours against WCAG 1.4.11 (non-text contrast, at least 3:1), computed
//! from portal.css itself, and the layout rule that keeps hidden table labels inside their
//! scrolling box, and the outline such a box shows when focused.

const CSS: &str = include_str!("../assets/portal.css");

/// `#rrggbb` as linear-light channels.
fn channels(hex: &str) -> [f64; 3] {
    let hex = hex.trim_start_matches('#');
    let byte = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).expect("a hex colour");
    [byte(0), byte(2), byte(4)].map(|value| {
        let c = f64::from(value) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    })
}

fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |hex: &str| {
        let [r, g, b] = channels(hex);
        0.2126 * r + 0.7152 * g + 0.0722 * b
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// The colour right after `marker` in the stylesheet.
fn colour_after(marker: &str) -> &'static str {
    let start = CSS.find(marker).unwrap_or_else(|| panic!("{marker:?} is not in portal.css")) + marker.len();
    &CSS[start..start + 7]
}

#[test]
fn the_focus_outline_and_input_borders_stand_out_three_to_one_on_every_background() {
    let outline =
        colour_after("a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid ");
    let input_border = colour_after("width: 100%; padding: .55rem .6rem; border: 1px solid ");
    let page = colour_after("--bg: ");

    for (what, colour) in [("focus outline", outline), ("input border", input_border)] {
        for background in ["#ffffff", page] {
            let ratio = contrast(colour, background);
            assert!(ratio >= 3.0, "{what} {colour} on {background}: {ratio:.2}:1");
        }
    }
}

#[test]
fn a_scrolling_box_positions_the_hidden_labels_inside_it() {
    assert!(
        CSS.contains(".scroll { overflow-x: auto; position: relative; }"),
        "without it a visually hidden header widens the page"
    );
}

#[test]
fn a_focused_scrolling_box_shows_the_focus_outline() {
    let outline =
        colour_after("a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid ");
    let boxes = colour_after(".scroll:focus, .chart-frame:focus { outline: 3px solid ");
    assert_eq!(boxes, outline, "the same outline as every other focus stop");
}
