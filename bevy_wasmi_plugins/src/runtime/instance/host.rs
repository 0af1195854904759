//! What the embedder does with a mod's messages: [`ModHost`].

use bevy_wasmi_plugins_protocol::{Notification, Outcome, Request, ResponseError};

/// What the embedder does with what a mod sends.
///
/// Called while the mod is suspended, so a handler may take as long as it needs and
/// touch anything it owns (the Bevy layer hands it the `World`).
pub trait ModHost {
    /// Answers a request from the mod. The result goes back to the mod at once.
    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome;

    /// Answers a request that is alone on its line, which may come with an
    /// [attachment](bevy_wasmi_plugins_protocol::attach) (`attachment`, raw bytes beside
    /// the line) and may answer with one: bytes put in `answer` go to the mod in front of
    /// a successful result's line (they are dropped with an error). The attachment and
    /// the result together must fit the mod's message cap, like any answer.
    ///
    /// By default the attachment is ignored and [`request`](Self::request) answers; a
    /// request in a batch always goes to [`request`](Self::request).
    fn request_with_attachment(
        &mut self,
        mod_name: &str,
        request: &Request<'_>,
        attachment: Option<&[u8]>,
        answer: &mut Option<Vec<u8>>,
    ) -> Outcome {
        let _ = (attachment, answer);
        self.request(mod_name, request)
    }

    /// Receives a notification from the mod. Ignored by default.
    fn notification(&mut self, mod_name: &str, notification: &Notification<'_>) {
        let _ = (mod_name, notification);
    }

    /// Receives one line the mod wrote on stderr (its log). Dropped by default. At most
    /// 1,024 lines a [`ModInstance::run`](super::ModInstance::run) are passed on (lines
    /// over 8 KiB count as one per 8 KiB piece); the rest of that run's log is dropped,
    /// and [`ModHost::protocol_warning`] says so once.
    fn log(&mut self, mod_name: &str, line: &str) {
        let _ = (mod_name, line);
    }

    /// Hears about protocol mistakes the mod made that have no one to answer (such as a
    /// response to an id nobody asked). Dropped by default.
    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        let _ = (mod_name, warning);
    }

    /// Whether the mod should pause now, before it is resumed again within the same run
    /// (say, the frame's wall-time budget is spent): `true` ends the run with
    /// [`RunStatus::Yielded`](super::RunStatus::Yielded), and the mod goes on at the
    /// next run. Asked after the host has served what the mod sent, and between the
    /// messages of one burst of output (those not served yet wait for the next run).
    /// Never, by default.
    fn should_pause(&mut self) -> bool {
        false
    }

    /// Fuel the host's own work for the mod cost since it was last asked (say, per
    /// entity a query visited), charged to the mod on top of
    /// [`Limits::fuel_per_message`](crate::runtime::Limits::fuel_per_message), so a
    /// mod cannot keep the host busy for free. Asked once each time the host has served
    /// what the mod sent; what a slice cannot cover is owed and paid from the next.
    /// Nothing, by default.
    fn take_fuel(&mut self) -> u64 {
        0
    }
}

/// A host with no methods: every request is answered with method-not-found.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl ModHost for NoHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        Err(ResponseError::method_not_found(&request.method))
    }
}
