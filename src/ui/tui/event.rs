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

/// What waiting on the terminal found.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    Ready,
    Timeout,
    /// The ssh session or the terminal window closed.
    HungUp,
}

/// Waits up to `timeout` for input on `fd`: poll reports a hang-up at once.
pub fn wait_input(fd: impl std::os::fd::AsFd, timeout: Duration) -> Wait {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let ts = rustix::event::Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut fds, Some(&ts)) {
        Err(_) => Wait::Timeout,
        Ok(_)
            if fds[0]
                .revents()
                .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) =>
        {
            Wait::HungUp
        }
        Ok(0) => Wait::Timeout,
        Ok(_) => Wait::Ready,
    }
}

/// Reads the terminal and ticks the clock until `stop` is set. A terminal that goes
/// away (hang-up, read error) is a [`Msg::Terminate`], as SIGHUP would be. The wait
/// is ours, not crossterm's: crossterm reads a hung-up terminal in a loop that never
/// returns (`read` giving 0 bytes, seen with 0.29), which left the wizard spinning
/// behind a closed ssh session, holding the install lock. Crossterm only reads once
/// poll says there is input (and every 50 ms, for resizes it learns by signal).
pub fn input_loop(tx: &Sender<Msg>, stop: &AtomicBool, start: Instant) {
    let gone = || {
        let _ = tx.send(Msg::Terminate);
    };
    let mut last_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if wait_input(std::io::stdin(), Duration::from_millis(50)) == Wait::HungUp {
            return gone();
        }
        loop {
            match event::poll(Duration::ZERO) {
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
                Ok(false) => break,
                Err(_) => return gone(),
            }
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
        use std::io::Write;
        let (reader, mut writer) = std::io::pipe().unwrap();
        let wait = Duration::from_millis(10);
        assert_eq!(wait_input(&reader, wait), Wait::Timeout);
        writer.write_all(b"x").unwrap();
        assert_eq!(wait_input(&reader, wait), Wait::Ready);
        drop(writer);
        assert_eq!(wait_input(&reader, wait), Wait::HungUp);
    }
}
