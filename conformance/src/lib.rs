//! A conformance suite for [`reactor`] event sources: checks that a source meets the five
//! obligations of [`EventSource`](reactor::EventSource), by driving it from real threads the
//! way an executor does.
//!
//! The author of a source describes it with a [`Harness`]: how to make a fresh one, and (if it
//! has events) how to register an event with a callback and fire it from any thread. The
//! [`Suite`] then runs its checks, each on fresh sources, and returns a [`Report`], or a
//! [`Failure`] whose every [`Violation`] names the [`Obligation`] it breaks:
//!
//! | obligation | what the suite checks |
//! |---|---|
//! | 1. bulk wait | a zero-timeout wait with nothing ready returns (within 1 s); a timed wait returns by its timeout; several fired events are all dispatched by one wait, which returns at least the number of callbacks it ran; an event fired from another thread ends a blocked wait (thousands of races) |
//! | 2. notify is never lost | a notify before a wait ends it; ten thousand rounds of a notify from another thread racing with the start of `wait(None)`; several threads notifying at once; a notify reaching a blocking source through a composite |
//! | 3. deadlines | an event fired before the source was attached is dispatched by the driver's first wait (a passive source says "now" through its deadline); no deadline in the past once everything is dispatched; an event scheduled ahead (a timer) is dispatched by its deadline, also when scheduled from another thread while the driver blocks |
//! | 4. composition | one attach accepted, a second refused with `AlreadyExists`; a composite refuses a second driver, and a blocking source as a passive part; a passive source calls its attached notifier on notify and on an event from another thread, which wakes a composite blocked beside it (thousands of races) |
//! | 5. deregistration | a pending event never runs after its registration's drop returned; hundreds of drops racing with a dispatch on another thread and fires from a third, with no callback after any drop returned |
//!
//! A blocking source is driven as an executor drives it (attached to a notifier of itself); a
//! passive source is composed with a [`Parking`](reactor::source::Parking) source in a
//! [`Composite`](reactor::source::Composite). Every wait that must end runs under a watchdog: a
//! lost wake-up is reported after the [patience](Suite::patience) (2 s by default), the stuck
//! thread is freed with a notify if it can be (or left behind if not), and the suite goes on.
//! At the default sizes a correct source passes in one to three seconds in a debug build on two
//! busy cores.
//!
//! The races of real threads rendezvous on spinning barriers, and each racer acts only once the
//! waiter has announced its wait, a random moment of up to a few microseconds later: that is
//! where a lost wake-up hides. A window of a microsecond or so (a system call between a check
//! and a sleep) is found within a few rounds; one of a few dozen nanoseconds only by luck, and
//! less so on a loaded machine, where the threads of a race share one core. Those are what loom
//! is for (below).
//!
//! # Examples
//!
//! A passive source of flags, checked by the suite. The harness says how to make the source,
//! register an event and fire it; [`Suite::run`] does the rest.
//!
//! ```
//! use std::io;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::{Arc, Mutex};
//! use std::time::{Duration, Instant};
//!
//! use reactor::source::{CallbackSlot, Notifier, NotifierSlot};
//! use reactor::EventSource;
//! use reactor_conformance::{Callback, Harness, Suite};
//!
//! /// Flags that any thread raises, each running a callback on the loop.
//! #[derive(Clone, Default)]
//! struct Flags {
//!     flags: Arc<Mutex<Vec<Arc<Flag>>>>,
//!     notifier: Arc<NotifierSlot>,
//! }
//!
//! struct Flag {
//!     raised: AtomicBool,
//!     callback: CallbackSlot<dyn FnMut() + Send>,
//! }
//!
//! /// Keeps a flag registered; dropping it deregisters.
//! struct Registration(Arc<Flag>);
//!
//! impl Drop for Registration {
//!     fn drop(&mut self) {
//!         self.0.callback.remove(); // waits for a run in progress: none after the drop
//!     }
//! }
//!
//! impl EventSource for Flags {
//!     fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
//!         let flags = self.flags.lock().unwrap().clone();
//!         let mut ran = 0;
//!         for flag in flags {
//!             if flag.raised.swap(false, Ordering::Acquire) {
//!                 ran += flag.callback.call(|callback| callback()).map_or(0, |()| 1);
//!             }
//!         }
//!         Ok(ran)
//!     }
//!
//!     fn notify(&self) {
//!         self.notifier.notify();
//!     }
//!
//!     fn deadline(&self) -> Option<Instant> {
//!         // Work pending means "now": a flag raised before `attach` notified nobody.
//!         let flags = self.flags.lock().unwrap();
//!         flags.iter().any(|flag| flag.raised.load(Ordering::Acquire)).then(Instant::now)
//!     }
//!
//!     fn can_block(&self) -> bool {
//!         false
//!     }
//!
//!     fn attach(&self, notifier: Notifier) -> io::Result<()> {
//!         self.notifier.attach(notifier)
//!     }
//! }
//!
//! /// How the suite makes, registers with and fires `Flags`.
//! struct FlagsHarness;
//!
//! impl Harness for FlagsHarness {
//!     type Source = Flags;
//!     type Trigger = (Arc<Flag>, Arc<NotifierSlot>);
//!     type Registration = Registration;
//!
//!     fn source(&self) -> io::Result<Flags> {
//!         Ok(Flags::default())
//!     }
//!
//!     fn register(&self, flags: &Flags, callback: Callback) -> io::Result<(Self::Trigger, Registration)> {
//!         let flag = Arc::new(Flag { raised: AtomicBool::new(false), callback: CallbackSlot::new(callback) });
//!         flags.flags.lock().unwrap().push(flag.clone());
//!         Ok(((flag.clone(), flags.notifier.clone()), Registration(flag)))
//!     }
//!
//!     fn fire(&self, (flag, notifier): &Self::Trigger) {
//!         flag.raised.store(true, Ordering::Release);
//!         notifier.notify(); // wake the driver: it must dispatch us
//!     }
//! }
//!
//! // Smaller than the defaults, to keep this example quick.
//! let report = Suite::new(FlagsHarness).notify_rounds(300).event_rounds(100).run()?;
//! assert_eq!(report.failed(), 0);
//! println!("{report}");
//! # Ok::<(), reactor_conformance::Failure>(())
//! ```
//!
//! A source that breaks an obligation fails with a message naming it, for instance
//! `obligation 2 (notify is never lost): a notify racing with the start of a wait ends it: round
//! 17 of 10000: a notify from another thread, racing with the start of wait(None), was lost: the
//! wait was still blocked 2s later (a notify from the suite then ended it)`.
//!
//! # Under loom
//!
//! A source built on the loom shim of `reactor` can also have its notify-vs-wait and
//! event-vs-wait races explored exhaustively by [loom](https://docs.rs/loom): in a build with
//! `--cfg reactor_loom --cfg loom`, the `loom` module of this crate runs them as loom models
//! (`reactor_conformance::loom::notify_vs_wait` and `event_vs_wait`, taking the same
//! [`Harness`]). The real-thread suite above needs no loom at all.
#![doc(test(attr(deny(warnings))))]

mod bounded;
mod checks;
mod harness;
#[cfg(reactor_loom)]
pub mod loom;
mod obligation;
mod race;
mod report;
mod rig;
mod suite;

pub use harness::{Callback, Harness, NoEvents};
pub use obligation::{Obligation, Violation};
pub use report::{CheckReport, Failure, Outcome, Report};
pub use suite::{check, Suite};
