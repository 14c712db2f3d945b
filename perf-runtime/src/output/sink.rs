//! The end of a run: one judged report handed to a list of sinks, in
//! order (criterion's `Report` trait and its `Reports` fan-out are the
//! model). Each output is a sink: the summary, the JSON file, a saved
//! baseline, EMF lines, CloudWatch, a shard's result in a directory or S3.
//! The list is made in one place, `crate::after`, which names the AWS
//! sinks under their features.

use crate::model::error::Error;
use crate::model::report::Report;

/// Where a judged report goes.
pub(crate) trait Sink {
    /// Delivers `report`. A sink that wants a line in the printed summary
    /// (where it saved something, say) adds it to `notes`; the summary
    /// sink prints the lines of the sinks before it.
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error>;
}

impl<T: Sink + ?Sized> Sink for Box<T> {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        (**self).deliver(report, notes)
    }
}

/// The sinks of one run, in delivery order.
#[derive(Default)]
pub(crate) struct Sinks<'a>(Vec<Box<dyn Sink + 'a>>);

impl<'a> Sinks<'a> {
    /// Adds a sink after those already there.
    pub(crate) fn push(&mut self, sink: impl Sink + 'a) {
        self.0.push(Box::new(sink));
    }

    /// Delivers `report` to every sink in order; the first error stops the
    /// delivery (what was delivered before it stays).
    pub(crate) fn deliver(&self, report: &Report) -> Result<(), Error> {
        let mut notes = Vec::new();
        self.0
            .iter()
            .try_for_each(|sink| sink.deliver(report, &mut notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Probe {
        name: &'static str,
        seen: Rc<RefCell<Vec<String>>>,
        fail: bool,
    }

    impl Sink for Probe {
        fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
            self.seen
                .borrow_mut()
                .push(format!("{} {} after {:?}", self.name, report.name, notes));
            notes.push(self.name.to_owned());
            if self.fail {
                return Err(Error::Config(format!("{} failed", self.name)));
            }
            Ok(())
        }
    }

    #[test]
    fn sinks_get_the_report_in_order_with_the_notes_of_those_before() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let probe = |name, fail| Probe {
            name,
            seen: seen.clone(),
            fail,
        };
        let mut sinks = Sinks::default();
        sinks.push(probe("baseline", false));
        sinks.push(probe("summary", true));
        sinks.push(probe("json", false));
        let report = Report::skipped("t".into(), Default::default(), "gated".into());
        let e = sinks.deliver(&report).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid perf test configuration: summary failed"
        );
        assert_eq!(
            *seen.borrow(),
            ["baseline t after []", "summary t after [\"baseline\"]"],
            "the sink after a failed one is not reached"
        );
    }
}
