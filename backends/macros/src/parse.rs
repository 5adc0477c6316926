//! The parsers of both macros, written against [`Token`] rather than `proc_macro` directly, so
//! that unit tests can run them on token lists lexed from strings (the `proc_macro` types only
//! work inside a macro invocation).

use std::ops::Range;

/// The delimiter of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delim {
    Paren,
    Brace,
    Bracket,
    None,
}

/// What the parsers need to know of one token tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident(String),
    Punct(char),
    /// The literal as written, e.g. `4usize` or `"text"`.
    Literal(String),
    /// A group and its contents as text (empty for an empty group).
    Group(Delim, String),
}

/// A token tree the parsers can read: its kind and where it is.
pub(crate) trait Token {
    type Span: Copy;
    fn kind(&self) -> Kind;
    fn span(&self) -> Self::Span;
}

/// A compile error: the message, and the token it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error<S> {
    pub(crate) message: String,
    pub(crate) span: S,
}

fn error<S>(span: S, message: impl Into<String>) -> Error<S> {
    Error { message: message.into(), span }
}

/// Which macro is expanding: the messages name it, and the rules differ slightly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    Main,
    Test,
}

impl Macro {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Macro::Main => "#[reactor_epoll::main]",
            Macro::Test => "#[reactor_epoll::test]",
        }
    }
}

/// The options of the attribute: `worker_threads = N` and `paused_clock`, comma-separated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// `None`: the macro's default (the builder's default for `main`, 1 for `test`).
    pub(crate) worker_threads: Option<usize>,
    pub(crate) paused_clock: bool,
}

const EXPECTED_OPTION: &str = "expected `worker_threads = N` or `paused_clock`";

/// Parses the attribute's arguments.
pub(crate) fn parse_options<T: Token>(tokens: &[T]) -> Result<Options, Error<T::Span>> {
    let mut options = Options::default();
    let mut seen_worker_threads = false;
    let mut rest = tokens;
    while let Some((first, tail)) = rest.split_first() {
        rest = tail;
        let name = match first.kind() {
            Kind::Ident(name) => name,
            other => {
                return Err(error(first.span(), format!("{EXPECTED_OPTION}, found `{}`", describe(&other))))
            }
        };
        let takes_value = rest.first().is_some_and(|t| t.kind() == Kind::Punct('='));
        match name.as_str() {
            "worker_threads" => {
                if seen_worker_threads {
                    return Err(error(first.span(), "`worker_threads` is given twice"));
                }
                seen_worker_threads = true;
                if !takes_value {
                    return Err(error(
                        first.span(),
                        "`worker_threads` needs a value, as in `worker_threads = 4`",
                    ));
                }
                let equals = &rest[0];
                let Some(value) = rest.get(1) else {
                    return Err(error(
                        equals.span(),
                        "`worker_threads =` needs a value, as in `worker_threads = 4`",
                    ));
                };
                rest = &rest[2..];
                options.worker_threads =
                    Some(parse_usize(&value.kind()).map_err(|m| error(value.span(), m))?);
            }
            "paused_clock" => {
                if options.paused_clock {
                    return Err(error(first.span(), "`paused_clock` is given twice"));
                }
                if takes_value {
                    return Err(error(
                        rest[0].span(),
                        "`paused_clock` takes no value: write `paused_clock` alone",
                    ));
                }
                options.paused_clock = true;
            }
            _ => return Err(error(first.span(), format!("unknown option `{name}`: {EXPECTED_OPTION}"))),
        }
        if let Some((separator, tail)) = rest.split_first() {
            if separator.kind() != Kind::Punct(',') {
                return Err(error(
                    separator.span(),
                    format!("expected `,` between options, found `{}`", describe(&separator.kind())),
                ));
            }
            rest = tail;
        }
    }
    Ok(options)
}

/// A `usize` literal: decimal digits with optional `_` separators and an optional `usize` suffix.
fn parse_usize(kind: &Kind) -> Result<usize, String> {
    let bad = || {
        format!(
            "`worker_threads` takes a usize literal, as in `worker_threads = 4`; found `{}`",
            describe(kind)
        )
    };
    let Kind::Literal(text) = kind else { return Err(bad()) };
    let digits = text.strip_suffix("usize").unwrap_or(text);
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return Err(bad());
    }
    digits.replace('_', "").parse().map_err(|_| format!("`worker_threads = {text}` is too large for a usize"))
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Ident(text) | Kind::Literal(text) => text.clone(),
        Kind::Punct(c) => c.to_string(),
        Kind::Group(Delim::Paren, _) => "(...)".into(),
        Kind::Group(Delim::Brace, _) => "{...}".into(),
        Kind::Group(Delim::Bracket, _) => "[...]".into(),
        Kind::Group(Delim::None, text) => text.clone(),
    }
}

/// Where the parts of `async fn name() -> Ret { body }` are, as indices into its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FnShape {
    /// Everything before `async`: attributes, doc comments, visibility, other qualifiers.
    pub(crate) before_async: Range<usize>,
    /// Everything after `async` up to and including the (empty) parameter list: qualifiers,
    /// `fn`, the name, `()`.
    pub(crate) signature: Range<usize>,
    /// The return type without `->` (empty for `()`).
    pub(crate) output: Range<usize>,
    /// The body, a brace group.
    pub(crate) body: usize,
}

/// Splits an item into the parts the macros rewrite, or says precisely why it is not an
/// `async fn` they accept.
pub(crate) fn parse_fn<T: Token>(
    tokens: &[T],
    which: Macro,
    attribute: T::Span,
) -> Result<FnShape, Error<T::Span>> {
    let kinds: Vec<Kind> = tokens.iter().map(Token::kind).collect();
    let attr = which.attribute();
    let mut i = 0;
    // Outer attributes (doc comments arrive as `#[doc = "..."]`).
    while kinds.get(i) == Some(&Kind::Punct('#')) {
        if let Some(Kind::Group(Delim::Bracket, inner)) = kinds.get(i + 1) {
            if which == Macro::Test && inner.trim() == "test" {
                return Err(error(
                    tokens[i].span(),
                    "a second `#[test]`: remove it, `#[reactor_epoll::test]` adds one",
                ));
            }
            i += 2;
        } else {
            break;
        }
    }
    // Visibility, then qualifiers, up to `fn`.
    let mut async_at = None;
    let fn_at = loop {
        match kinds.get(i) {
            Some(Kind::Ident(word)) if word == "fn" => break i,
            Some(Kind::Ident(word)) if word == "async" => async_at = Some(i),
            Some(Kind::Ident(word)) if matches!(word.as_str(), "pub" | "const" | "unsafe" | "extern") => {}
            Some(Kind::Group(Delim::Paren, _)) if i > 0 && kinds[i - 1] == Kind::Ident("pub".into()) => {}
            Some(Kind::Literal(_)) if i > 0 && kinds[i - 1] == Kind::Ident("extern".into()) => {}
            Some(_) => return Err(error(tokens[i].span(), format!("{attr} goes on an `async fn`"))),
            None => return Err(error(attribute, format!("{attr} goes on an `async fn`"))),
        }
        i += 1;
    };
    let Some(async_at) = async_at else {
        return Err(error(
            tokens[fn_at].span(),
            format!(
                "the `async` keyword is missing from the function declaration: {attr} goes on an `async fn`"
            ),
        ));
    };
    let name_at = fn_at + 1;
    let Some(Kind::Ident(name)) = kinds.get(name_at) else {
        return Err(error(tokens[fn_at].span(), "expected the function's name after `fn`"));
    };
    let params_at = name_at + 1;
    match kinds.get(params_at) {
        Some(Kind::Punct('<')) => {
            return Err(error(
                tokens[params_at].span(),
                format!("{attr} functions cannot be generic (`{name}` has generic parameters)"),
            ))
        }
        Some(Kind::Group(Delim::Paren, params)) if !params.trim().is_empty() => {
            let what = match which {
                Macro::Main => format!("`{name}` cannot take arguments: {attr} calls it with none"),
                Macro::Test => format!("`{name}` cannot take arguments: a test is called with none"),
            };
            return Err(error(tokens[params_at].span(), what));
        }
        Some(Kind::Group(Delim::Paren, _)) => {}
        _ => return Err(error(tokens[name_at].span(), "expected `(` after the function's name")),
    }
    let body = tokens.len() - 1;
    if body <= params_at || !matches!(kinds[body], Kind::Group(Delim::Brace, _)) {
        return Err(error(tokens[fn_at].span(), format!("{attr} needs the function's body")));
    }
    let mut output = params_at + 1..body;
    if !output.is_empty() {
        if kinds[output.start] != Kind::Punct('-') || kinds.get(output.start + 1) != Some(&Kind::Punct('>')) {
            return Err(error(tokens[output.start].span(), "expected `->` or the function's body"));
        }
        output.start += 2;
        if let Some(at) = output.clone().find(|&k| kinds[k] == Kind::Ident("where".into())) {
            return Err(error(
                tokens[at].span(),
                format!("{attr} functions cannot be generic (`{name}` has a `where` clause)"),
            ));
        }
        if output.is_empty() {
            return Err(error(tokens[params_at + 2].span(), "expected a return type after `->`"));
        }
    }
    Ok(FnShape { before_async: 0..async_at, signature: async_at + 1..params_at + 1, output, body })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
