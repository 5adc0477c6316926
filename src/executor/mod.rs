pub(crate) mod local_queue;
