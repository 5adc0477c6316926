//! Property test: random sequences of channel operations agree with a `VecDeque` model.

use std::collections::VecDeque;

use futures_lite::future::{block_on, poll_once};
use proptest::prelude::*;
use reactor_channel::{
    bounded, unbounded, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError,
};

#[derive(Clone, Debug)]
enum Op {
    TrySend {
        sender: usize,
        value: u32,
    },
    /// Polls a `send` future once and drops it if it is still pending.
    SendOnce {
        sender: usize,
        value: u32,
    },
    TryRecv,
    /// Polls a `recv` future once and drops it if it is still pending (cancel safety).
    RecvOnce,
    CloneSender {
        sender: usize,
    },
    DropSender {
        sender: usize,
    },
    Close,
    /// Polls a `recv_many` future once and drops it if it is still pending.
    RecvManyOnce {
        limit: usize,
    },
    Downgrade {
        sender: usize,
    },
    Upgrade {
        weak: usize,
    },
    DropWeak {
        weak: usize,
    },
    /// Polls a `closed` future once.
    ClosedOnce {
        sender: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, any::<u32>()).prop_map(|(sender, value)| Op::TrySend { sender, value }),
        2 => (0..4usize, any::<u32>()).prop_map(|(sender, value)| Op::SendOnce { sender, value }),
        3 => Just(Op::TryRecv),
        2 => Just(Op::RecvOnce),
        1 => (0..4usize).prop_map(|sender| Op::CloneSender { sender }),
        1 => (0..4usize).prop_map(|sender| Op::DropSender { sender }),
        1 => Just(Op::Close),
        2 => (0..4usize).prop_map(|limit| Op::RecvManyOnce { limit }),
        1 => (0..4usize).prop_map(|sender| Op::Downgrade { sender }),
        1 => (0..4usize).prop_map(|weak| Op::Upgrade { weak }),
        1 => (0..4usize).prop_map(|weak| Op::DropWeak { weak }),
        1 => (0..4usize).prop_map(|sender| Op::ClosedOnce { sender }),
    ]
}

/// What the channel must behave like.
struct Model {
    queue: VecDeque<u32>,
    capacity: Option<usize>,
    closed_by_receiver: bool,
}

impl Model {
    fn is_full(&self) -> bool {
        self.capacity.is_some_and(|capacity| self.queue.len() >= capacity)
    }

    /// The expected outcome of a send that does not wait.
    fn send(&mut self, value: u32, senders_alive: bool) -> Result<(), TrySendError<u32>> {
        if self.closed_by_receiver || !senders_alive {
            Err(TrySendError::Closed(value))
        } else if self.is_full() {
            Err(TrySendError::Full(value))
        } else {
            self.queue.push_back(value);
            Ok(())
        }
    }

    fn recv(&mut self, senders: usize) -> Result<u32, TryRecvError> {
        match self.queue.pop_front() {
            Some(value) => Ok(value),
            None if self.closed_by_receiver || senders == 0 => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

fn check(capacity: Option<usize>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (tx, mut rx): (Sender<u32>, Receiver<u32>) = match capacity {
        Some(capacity) => bounded(capacity),
        None => unbounded(),
    };
    let mut senders = vec![tx];
    let mut weak_senders = Vec::new();
    let mut model = Model { queue: VecDeque::new(), capacity, closed_by_receiver: false };
    for op in ops {
        let alive = !senders.is_empty();
        match op {
            Op::TrySend { sender, value } if alive => {
                let expected = model.send(value, alive);
                prop_assert_eq!(senders[sender % senders.len()].try_send(value), expected);
            }
            Op::SendOnce { sender, value } if alive => {
                let expected = match model.send(value, alive) {
                    Ok(()) => Some(Ok(())),
                    Err(TrySendError::Full(_)) => None,
                    Err(TrySendError::Closed(value)) => Some(Err(SendError(value))),
                };
                let sender = &senders[sender % senders.len()];
                prop_assert_eq!(block_on(poll_once(sender.send(value))), expected);
            }
            Op::TryRecv => {
                let expected = model.recv(senders.len());
                prop_assert_eq!(rx.try_recv(), expected);
            }
            Op::RecvOnce => {
                let expected = match model.recv(senders.len()) {
                    Ok(value) => Some(Ok(value)),
                    Err(TryRecvError::Closed) => Some(Err(RecvError)),
                    Err(TryRecvError::Empty) => None,
                };
                prop_assert_eq!(block_on(poll_once(rx.recv())), expected);
            }
            Op::CloneSender { sender } if alive => senders.push(senders[sender % senders.len()].clone()),
            Op::DropSender { sender } if alive => drop(senders.remove(sender % senders.len())),
            Op::Close => {
                let was_closed = model.closed_by_receiver || senders.is_empty();
                model.closed_by_receiver = true;
                prop_assert_eq!(rx.close(), !was_closed);
            }
            Op::RecvManyOnce { limit } => {
                let mut expected_items = Vec::new();
                while expected_items.len() < limit {
                    match model.recv(senders.len()) {
                        Ok(value) => expected_items.push(value),
                        Err(_) => break,
                    }
                }
                let closed = model.closed_by_receiver || senders.is_empty();
                let expected =
                    (limit == 0 || !expected_items.is_empty() || closed).then_some(expected_items.len());
                let mut buffer = Vec::new();
                prop_assert_eq!(block_on(poll_once(rx.recv_many(&mut buffer, limit))), expected);
                prop_assert_eq!(buffer, expected_items);
            }
            Op::Downgrade { sender } if alive => {
                weak_senders.push(senders[sender % senders.len()].downgrade())
            }
            Op::Upgrade { weak } if !weak_senders.is_empty() => {
                let upgraded = weak_senders[weak % weak_senders.len()].upgrade();
                prop_assert_eq!(upgraded.is_some(), alive, "upgrades exactly while a sender lives");
                senders.extend(upgraded);
            }
            Op::DropWeak { weak } if !weak_senders.is_empty() => {
                drop(weak_senders.remove(weak % weak_senders.len()));
            }
            Op::ClosedOnce { sender } if alive => {
                let expected = model.closed_by_receiver.then_some(());
                prop_assert_eq!(block_on(poll_once(senders[sender % senders.len()].closed())), expected);
            }
            _ => {}
        }
        prop_assert_eq!(rx.len(), model.queue.len());
        prop_assert_eq!(rx.is_full(), model.is_full());
        prop_assert_eq!(rx.is_closed(), model.closed_by_receiver || senders.is_empty());
        if let Some(sender) = senders.first() {
            prop_assert_eq!(sender.len(), model.queue.len());
            prop_assert_eq!(sender.is_closed(), model.closed_by_receiver);
            prop_assert_eq!(sender.strong_count(), senders.len());
            prop_assert_eq!(sender.weak_count(), weak_senders.len());
        }
        for weak in &weak_senders {
            prop_assert_eq!(weak.strong_count(), senders.len());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn bounded_channels_agree_with_the_model(capacity in 1..6usize, ops in prop::collection::vec(op(), 0..200)) {
        check(Some(capacity), ops)?;
    }

    #[test]
    fn unbounded_channels_agree_with_the_model(ops in prop::collection::vec(op(), 0..200)) {
        check(None, ops)?;
    }
}
