//! `Draft`: builds an email's text and HTML bodies side by side from the same parts, so
//! the two always say the same thing and every value is HTML-escaped on the way in.

use super::Email;

/// An email being written: paragraphs and label/value tables, in order.
#[derive(Debug)]
pub(super) struct Draft {
    subject: String,
    text: String,
    html: String,
}

impl Draft {
    pub(super) fn new(subject: impl Into<String>) -> Self {
        Draft { subject: subject.into(), text: String::new(), html: String::new() }
    }

    /// A paragraph of plain text (escaped for the HTML body, its line breaks kept).
    pub(super) fn paragraph(mut self, text: &str) -> Self {
        self.text.push_str(text);
        self.text.push_str("\n\n");
        self.html.push_str("<p>");
        self.html.push_str(&escape(text).replace('\n', "<br>\n"));
        self.html.push_str("</p>\n");
        self
    }

    /// Label/value rows; rows without a value are left out.
    pub(super) fn details(mut self, rows: &[(&str, Option<&str>)]) -> Self {
        self.html.push_str("<table>\n");
        for (label, value) in rows {
            let Some(value) = value else { continue };
            self.text.push_str(&format!("{label}: {value}\n"));
            self.html.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                escape(label),
                escape(value)
            ));
        }
        self.text.push('\n');
        self.html.push_str("</table>\n");
        self
    }

    pub(super) fn into_email(self, from: &str, to: &str) -> Email {
        let html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{}</body></html>\n",
            escape(&self.subject),
            self.html
        );
        Email {
            from: from.to_owned(),
            to: to.to_owned(),
            subject: self.subject,
            text: self.text.trim_end().to_owned() + "\n",
            html,
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn both_bodies_carry_the_same_parts_and_empty_rows_are_dropped() {
        let email = Draft::new("Hi <there>")
            .paragraph("a < b\nc")
            .details(&[("Amount", Some("10.00 USD")), ("Note", None)])
            .into_email("from@x.example", "to@x.example");

        assert_eq!(email.text, "a < b\nc\n\nAmount: 10.00 USD\n");
        assert!(email.html.contains("<p>a &lt; b<br>\nc</p>"), "{}", email.html);
        assert!(email.html.contains("<title>Hi &lt;there&gt;</title>"));
        assert!(email.html.contains("<td>10.00 USD</td>") && !email.html.contains("Note"));
        assert_eq!(email.subject, "Hi <there>", "the subject is plain text, not HTML");
    }
}
