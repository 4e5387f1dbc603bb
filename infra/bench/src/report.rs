//! What a run found: the rows of the cold-start table, printed for people and written
//! as JSON for later comparison.

use serde::Serialize;

use crate::cold_start::{HELLO, Subject};
use crate::stats::{millis, ratio};

/// The target of issue 12: a function's init at most this many times hello's.
pub const INIT_RATIO_TARGET: f64 = 1.5;

/// One binary's cold start: medians in milliseconds, ratios to hello.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColdStartRow {
    pub binary: String,
    pub runs: usize,
    pub init_ms: f64,
    /// `None` for a function given no event (analytics).
    pub first_response_ms: Option<f64>,
    pub init_ratio: Option<f64>,
    pub first_response_ratio: Option<f64>,
    /// Runs whose first answer was an error the function reported to the runtime.
    pub errors: usize,
}

/// The rows for `subjects`, each read against the hello baseline among them.
pub fn cold_start_rows(subjects: &[Subject]) -> Vec<ColdStartRow> {
    let hello = subjects.iter().find(|subject| subject.binary == HELLO);
    let hello_init = hello.and_then(Subject::median_init);
    let hello_first = hello.and_then(Subject::median_first_response);
    subjects
        .iter()
        .filter_map(|subject| {
            let init = subject.median_init()?;
            let first = subject.median_first_response();
            Some(ColdStartRow {
                binary: subject.binary.clone(),
                runs: subject.runs.len(),
                init_ms: millis(init),
                first_response_ms: first.map(millis),
                init_ratio: hello_init.and_then(|hello| ratio(init, hello)),
                first_response_ratio: first.zip(hello_first).and_then(|(first, hello)| ratio(first, hello)),
                errors: subject.errors(),
            })
        })
        .collect()
}

/// The cold-start table as printed: one line per binary, a verdict on the init target.
pub fn cold_start_table(rows: &[ColdStartRow]) -> String {
    let mut table = format!(
        "{:<10} {:>4} {:>9} {:>7} {:>13} {:>7} {:>6}  {}\n",
        "binary", "runs", "init ms", "× hello", "1st resp. ms", "× hello", "errors", "init ≤ 1.5× hello"
    );
    for row in rows {
        let verdict = match row.init_ratio {
            _ if row.binary == HELLO => "baseline",
            Some(ratio) if ratio <= INIT_RATIO_TARGET => "met",
            Some(_) => "NOT MET",
            None => "no baseline",
        };
        table.push_str(&format!(
            "{:<10} {:>4} {:>9.2} {:>7} {:>13} {:>7} {:>6}  {}\n",
            row.binary,
            row.runs,
            row.init_ms,
            times(row.init_ratio),
            row.first_response_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}")),
            times(row.first_response_ratio),
            row.errors,
            verdict
        ));
    }
    table
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(binary: &str, init_ms: f64, init_ratio: Option<f64>) -> ColdStartRow {
        ColdStartRow {
            binary: binary.to_owned(),
            runs: 5,
            init_ms,
            first_response_ms: Some(init_ms + 1.0),
            init_ratio,
            first_response_ratio: init_ratio,
            errors: 0,
        }
    }

    #[test]
    fn the_table_marks_each_function_against_the_target_and_hello_as_the_baseline() {
        let table = cold_start_table(&[
            row("hello", 4.0, Some(1.0)),
            row("wallet", 6.0, Some(1.5)),
            row("orders", 12.0, Some(3.0)),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[1].starts_with("hello") && lines[1].ends_with("baseline"), "{table}");
        assert!(lines[2].contains("6.00") && lines[2].contains("1.50") && lines[2].ends_with("met"), "{table}");
        assert!(lines[3].contains("12.00") && lines[3].ends_with("NOT MET"), "{table}");
    }

    #[test]
    fn a_function_without_a_baseline_says_so_instead_of_a_ratio() {
        let table = cold_start_table(&[row("wallet", 6.0, None)]);
        assert!(table.lines().nth(1).is_some_and(|line| line.contains(" - ") && line.ends_with("no baseline")));
    }
}
