//! Everything that happens becomes a [`Msg`] on one channel: key presses and resizes
//! (a reader thread), a clock tick, and the engine's events (through the host's sink).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crossterm::event::{self, KeyEventKind};

use super::app::Msg;
use crate::events::EventSink;

/// How often the clock ticks (elapsed times, rates).
const TICK: Duration = Duration::from_millis(250);

/// A terminal event as a message: key presses only (no releases or repeats on
/// terminals that report them), and resizes.
pub fn to_msg(e: &event::Event) -> Option<Msg> {
    match e {
        event::Event::Key(k) if k.kind == KeyEventKind::Press => Some(Msg::Key(*k)),
        event::Event::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

/// Whether the terminal on `fd` has hung up (the ssh session or the terminal
/// window closed): poll reports POLLHUP at once, however long it may wait.
pub fn hung_up(fd: impl std::os::fd::AsFd) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok()
        && fds[0]
            .revents()
            .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
}

/// Reads the terminal and ticks the clock until `stop` is set. A terminal that goes
/// away (read error, hang-up) is a [`Msg::Terminate`], as SIGHUP would be: without
/// it the wizard would spin behind a closed session, holding the install lock.
pub fn input_loop(tx: &Sender<Msg>, stop: &AtomicBool, start: Instant) {
    let gone = || {
        let _ = tx.send(Msg::Terminate);
    };
    let mut last_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match event::poll(Duration::from_millis(50)) {
            Ok(true) => match event::read() {
                Ok(e) => {
                    if let Some(m) = to_msg(&e) {
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                }
                Err(_) => return gone(),
            },
            Ok(false) => {
                if hung_up(std::io::stdin()) {
                    return gone();
                }
            }
            Err(_) => return gone(),
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            if tx.send(Msg::Tick(start.elapsed())).is_err() {
                return;
            }
        }
    }
}

/// The engine's events, as messages.
pub fn engine_sink(tx: Sender<Msg>) -> EventSink {
    Arc::new(move |e| {
        let _ = tx.send(Msg::Engine(e));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_other_end_is_a_hang_up() {
        let (reader, writer) = std::io::pipe().unwrap();
        assert!(!hung_up(&reader), "the writer is still open");
        drop(writer);
        assert!(hung_up(&reader));
    }
}
