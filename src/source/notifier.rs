//! How a source wakes the waiter that drives it: [`Notifier`], and [`NotifierSlot`], which keeps
//! the one notifier a source is attached to.

use std::fmt;
use std::io;
use std::sync::{Arc, Weak};

use crate::source::EventSource;
use crate::sync::Mutex;

/// Wakes the waiter of one blocking source; handed to a source by [`EventSource::attach`].
///
/// Cloning is a reference-count increment; [`notify`](Self::notify) is whatever the blocking
/// source's [`EventSource::notify`] costs.
#[derive(Clone)]
pub struct Notifier {
    target: Arc<dyn Target>,
}

/// What a [`Notifier`] wakes.
trait Target: Send + Sync {
    fn notify(&self);

    /// Whether the waiter still exists (see [`Notifier::is_live`]).
    fn is_live(&self) -> bool {
        true
    }
}

/// A closure: [`Notifier::new`].
struct Closure<F>(F);

impl<F: Fn() + Send + Sync> Target for Closure<F> {
    fn notify(&self) {
        (self.0)();
    }
}

/// A source that may be gone: [`Notifier::from_weak`].
struct WeakSource<S: ?Sized>(Weak<S>);

impl<S: EventSource + ?Sized> Target for WeakSource<S> {
    fn notify(&self) {
        if let Some(source) = self.0.upgrade() {
            source.notify();
        }
    }

    fn is_live(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// A source that is bound after the notifier was handed out: [`Notifier::late`].
pub(crate) struct LateTarget {
    /// `None` until bound.
    source: Mutex<Option<Weak<dyn EventSource>>>,
}

impl LateTarget {
    /// Makes the notifier wake `source` from now on, for as long as it lives.
    pub(crate) fn bind(&self, source: &Arc<dyn EventSource>) {
        *self.source.lock() = Some(Arc::downgrade(source));
    }
}

impl Target for LateTarget {
    fn notify(&self) {
        let source = self.source.lock().as_ref().and_then(Weak::upgrade);
        if let Some(source) = source {
            source.notify();
        }
    }

    fn is_live(&self) -> bool {
        // Unbound: its driver is still being built.
        self.source.lock().as_ref().map_or(true, |source| source.strong_count() > 0)
    }
}

impl Notifier {
    /// A notifier that calls `notify` each time. It is [live](Self::is_live) for as long as it
    /// exists.
    pub fn new(notify: impl Fn() + Send + Sync + 'static) -> Self {
        Self { target: Arc::new(Closure(notify)) }
    }

    /// A notifier that calls [`EventSource::notify`] on `source`, keeping it alive. It is
    /// [live](Self::is_live) for as long as it exists.
    pub fn from_source<S: EventSource + ?Sized + 'static>(source: Arc<S>) -> Self {
        Self::new(move || source.notify())
    }

    /// A notifier that calls [`EventSource::notify`] on `source` while it lives, and does nothing
    /// once it is dropped. It is [live](Self::is_live) while `source` is.
    ///
    /// The notifier a driver hands out: [`Composite`](crate::source::Composite) attaches its
    /// passive parts to one of its blocking part, and an [`Executor`](crate::Executor) the
    /// source it drives to one of that source, so that a source outliving its driver (a clone
    /// kept elsewhere) neither keeps the driver's parts alive nor stays bound to it: once the
    /// driver is gone the source may be attached again.
    pub fn from_weak<S: EventSource + ?Sized + 'static>(source: Weak<S>) -> Self {
        Self { target: Arc::new(WeakSource(source)) }
    }

    /// A notifier for a source that its driver attaches before it has the `Arc` it will keep the
    /// source in: it wakes nothing until [`LateTarget::bind`], then works as [`Self::from_weak`].
    pub(crate) fn late() -> (Self, Arc<LateTarget>) {
        let target = Arc::new(LateTarget { source: Mutex::new(None) });
        (Self { target: target.clone() }, target)
    }

    /// Wakes the waiter (see [`EventSource::notify`]).
    pub fn notify(&self) {
        self.target.notify();
    }

    /// Whether the waiter this notifier wakes still exists: `false` once the source of a
    /// [`from_weak`](Self::from_weak) notifier was dropped, `true` otherwise.
    ///
    /// [`NotifierSlot`] refuses a second attach only while the first notifier is live: a source
    /// whose driver is gone may be driven again.
    pub fn is_live(&self) -> bool {
        self.target.is_live()
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier").field("live", &self.is_live()).finish_non_exhaustive()
    }
}

/// The notifier a source was [attached](EventSource::attach) to: set once, a second one
/// refused while the first is [live](Notifier::is_live), called on [`notify`](Self::notify) if
/// set.
///
/// The building block of every [`EventSource::attach`]: a source keeps one slot, forwards
/// `attach` to [`attach`](Self::attach), and calls [`notify`](Self::notify) whenever its waiter
/// must wake (a passive source also forwards [`EventSource::notify`] to it). A blocking source,
/// which needs no notifier, keeps one all the same to refuse a second driver. Every built-in
/// source does exactly this.
///
/// `notify` before `attach` does nothing: nobody waits on the source yet, and the driver's first
/// wait dispatches whatever is ready (a passive source that has work pending says so through its
/// [`deadline`](EventSource::deadline)).
///
/// # Examples
///
/// ```
/// use std::io;
/// use reactor::source::{Notifier, NotifierSlot};
///
/// let slot = NotifierSlot::new();
/// slot.notify(); // not attached yet: nothing to wake
/// slot.attach(Notifier::new(|| println!("woken")))?;
/// slot.notify(); // prints "woken"
///
/// let second = slot.attach(Notifier::new(|| {})).unwrap_err();
/// assert_eq!(second.kind(), io::ErrorKind::AlreadyExists);
/// # Ok::<(), io::Error>(())
/// ```
pub struct NotifierSlot {
    /// `None` until attached. Read by every `notify`, from any thread; written once.
    notifier: Mutex<Option<Notifier>>,
}

impl NotifierSlot {
    /// A slot that is not attached yet.
    pub fn new() -> Self {
        Self { notifier: Mutex::new(None) }
    }

    /// Stores `notifier`, unless a [live](Notifier::is_live) one is stored already.
    ///
    /// A stored notifier that is no longer live (its driver, a composite or an executor, was
    /// dropped) is replaced: a source outlives its driver and may be driven again.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) if the slot holds a live notifier; it
    /// stays, and `notifier` is dropped. [`Composite`](crate::source::Composite) and the
    /// [`Executor`](crate::Executor) add which source refused to the message.
    pub fn attach(&self, notifier: Notifier) -> io::Result<()> {
        let mut slot = self.notifier.lock();
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifierSlotOverwrites) {
            *slot = Some(notifier);
            return Ok(());
        }
        if slot.as_ref().is_some_and(Notifier::is_live) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the event source is attached already: a source is driven by exactly one composite \
                 source or executor, so give each composite or executor a source of its own",
            ));
        }
        // A dead notifier is dropped after the lock: dropping a closure runs user code.
        let dead = slot.replace(notifier);
        drop(slot);
        drop(dead);
        Ok(())
    }

    /// Calls the stored notifier; does nothing before [`attach`](Self::attach).
    ///
    /// The notifier runs outside the slot's lock, so it may do anything, including notifying
    /// this slot again.
    pub fn notify(&self) {
        let notifier = self.notifier.lock().clone();
        if let Some(notifier) = notifier {
            notifier.notify();
        }
    }

    /// Whether a [live](Notifier::is_live) notifier is [attached](Self::attach).
    pub fn is_attached(&self) -> bool {
        self.notifier.lock().as_ref().is_some_and(Notifier::is_live)
    }
}

impl Default for NotifierSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for NotifierSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierSlot").field("attached", &self.is_attached()).finish()
    }
}
