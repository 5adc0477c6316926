//! `#[reactor_epoll::main]` and `#[reactor_epoll::test]`: run an `async fn` on a fresh
//! `reactor_epoll::Runtime`.
//!
//! Use them through `reactor-epoll`, which re-exports both and documents them with examples; the
//! generated code names only `::reactor_epoll` and `::core` paths, so this crate is of no use on
//! its own.
//!
//! Written over plain [`proc_macro`] token trees, without `syn` or `quote`: the macros only split
//! `async fn name() -> Ret { body }` into its parts and parse two options.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

mod parse;

use parse::{Delim, Error, FnShape, Kind, Macro, Options, Token};

/// Runs `async fn main()` on a new `reactor_epoll::Runtime`.
///
/// `#[reactor_epoll::main] async fn main() -> Ret { body }` becomes a plain `fn main() -> Ret`
/// that builds a runtime with `reactor_epoll::Runtime::builder()` and `block_on`s the body; the
/// function may return any type, `Result<(), E>` included.
///
/// # Options
///
/// Comma-separated, in any order:
///
/// - `worker_threads = N` (a `usize` literal): the runtime's worker threads. Without it, the
///   builder's default: one per available core. `0` runs every task on the thread of `main`.
/// - `paused_clock`: the runtime is built with `RuntimeBuilder::build_with_paused_clock`: time
///   stands still and jumps to the next timer deadline whenever every thread is idle. The clock
///   lives as long as the runtime; reach it inside through `reactor_epoll::time::Timer::current()`.
///
/// # Errors
///
/// Misuse is a compile error pointing at the offending token:
///
/// | written | error |
/// |---|---|
/// | `fn main()` without `async` | the `async` keyword is missing from the function declaration |
/// | `async fn main(args: Vec<String>)` | `main` cannot take arguments |
/// | `async fn main<T>()` or a `where` clause | functions cannot be generic |
/// | `#[reactor_epoll::main(threads = 2)]` | unknown option `threads`: expected `worker_threads = N` or `paused_clock` |
/// | `worker_threads = "2"`, `= -1`, `= x` | `worker_threads` takes a usize literal |
/// | `worker_threads` without a value | `worker_threads` needs a value |
/// | `paused_clock = true` | `paused_clock` takes no value |
/// | an option given twice | `...` is given twice |
///
/// A failure to build the runtime at run time (no epoll instance, no thread) panics with the
/// `io::Error`, since `main` has no other way to report it.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Macro::Main, args, item)
}

/// Runs an `async fn` test on a fresh `reactor_epoll::Runtime`.
///
/// `#[reactor_epoll::test] async fn name() -> Ret { body }` becomes `#[test] fn name() -> Ret`
/// that builds its own runtime with `reactor_epoll::Runtime::builder()` and `block_on`s the body:
/// no state is shared between tests. Other attributes (`#[should_panic]`, `#[ignore]`, doc
/// comments) are kept; the test may return `Result<(), E>` like any `#[test]`.
///
/// # Options
///
/// As for `main`, with one difference: without `worker_threads`, a test's runtime has **1**
/// worker thread (beside the test's own thread, which runs the body), so that tests running in
/// parallel do not each start one thread per core.
///
/// - `worker_threads = N` (a `usize` literal).
/// - `paused_clock`: timeouts and sleeps complete instantly and deterministically, on any number
///   of workers (see `RuntimeBuilder::build_with_paused_clock`); the clock is
///   `reactor_epoll::time::Timer::current()` inside the test.
///
/// # Errors
///
/// The compile errors of `main`, and a second `#[test]` attribute on the function is refused
/// (this macro adds one).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Macro::Test, args, item)
}

impl Token for TokenTree {
    type Span = Span;

    fn kind(&self) -> Kind {
        match self {
            TokenTree::Ident(ident) => Kind::Ident(ident.to_string()),
            TokenTree::Punct(punct) => Kind::Punct(punct.as_char()),
            TokenTree::Literal(literal) => Kind::Literal(literal.to_string()),
            TokenTree::Group(group) => {
                let delim = match group.delimiter() {
                    Delimiter::Parenthesis => Delim::Paren,
                    Delimiter::Brace => Delim::Brace,
                    Delimiter::Bracket => Delim::Bracket,
                    Delimiter::None => Delim::None,
                };
                Kind::Group(delim, group.stream().to_string())
            }
        }
    }

    fn span(&self) -> Span {
        TokenTree::span(self)
    }
}

fn expand(which: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let shape = match parse::parse_fn(&tokens, which, Span::call_site()) {
        Ok(shape) => shape,
        Err(error) => {
            // The item follows unchanged, so that its own errors (and IDE support) survive.
            let mut output = compile_error(&error);
            output.extend(item);
            return output;
        }
    };
    match parse::parse_options(&flatten(args)) {
        Ok(options) => generate(which, options, &tokens, &shape),
        Err(error) => {
            // Expanded with the default options, so that the bad option is the only error (an
            // `async fn main` left as it is would add "`main` is not allowed to be `async`").
            let mut output = compile_error(&error);
            output.extend(generate(which, Options::default(), &tokens, &shape));
            output
        }
    }
}

/// The attribute's tokens, with invisible groups (a `$n:literal` passed on by a `macro_rules!`)
/// opened.
fn flatten(args: TokenStream) -> Vec<TokenTree> {
    let mut tokens = Vec::new();
    for token in args {
        match token {
            TokenTree::Group(group) if group.delimiter() == Delimiter::None => {
                tokens.extend(flatten(group.stream()));
            }
            other => tokens.push(other),
        }
    }
    tokens
}

fn generate(which: Macro, options: Options, tokens: &[TokenTree], shape: &FnShape) -> TokenStream {
    let mut output = TokenStream::new();
    if which == Macro::Test {
        output.extend(code("#[::core::prelude::v1::test]"));
    }
    output.extend(tokens[shape.before_async.clone()].iter().cloned());
    output.extend(tokens[shape.signature.clone()].iter().cloned());
    let return_type: TokenStream = tokens[shape.output.clone()].iter().cloned().collect();
    if !return_type.is_empty() {
        output.extend(code("->"));
        output.extend(return_type.clone());
    }

    // The body is pinned and coerced to a `dyn Future` with the declared output, so that `?` and
    // `return` inside it infer their types from the function's return type, as in a plain
    // `async fn`. Locals are `mixed_site`: the body cannot see or shadow them.
    let mut body = code("let body = async");
    body.extend([tokens[shape.body].clone()]);
    body.extend(code(
        "; let body = ::core::pin::pin!(body); \
         let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = ",
    ));
    body.extend(if return_type.is_empty() { code("()") } else { return_type });
    body.extend(code(">> = body;"));

    let workers = options.worker_threads.or(match which {
        Macro::Main => None,
        Macro::Test => Some(1),
    });
    let mut builder = String::from("::reactor_epoll::Runtime::builder()");
    if let Some(count) = workers {
        builder.push_str(&format!(".worker_threads({count}usize)"));
    }
    let (bind, build) = if options.paused_clock {
        ("let (runtime, _clock)", "build_with_paused_clock")
    } else {
        ("let runtime", "build")
    };
    let panic = format!("{}: cannot build the runtime: {{}}", which.attribute());
    body.extend(code(&format!(
        "{bind} = {builder}.{build}().unwrap_or_else(|error| ::core::panic!({panic:?}, error)); \
         runtime.block_on(body)"
    )));
    let mut group = Group::new(Delimiter::Brace, body);
    group.set_span(tokens[shape.body].span());
    output.extend([TokenTree::Group(group)]);
    output
}

/// Fixed generated code, with `mixed_site` spans.
fn code(text: &str) -> TokenStream {
    let tokens: TokenStream = match text.parse() {
        Ok(tokens) => tokens,
        Err(error) => {
            return compile_error(&Error { message: format!("{error:?}"), span: Span::call_site() })
        }
    };
    respan(tokens, Span::mixed_site())
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                return TokenTree::Group(new);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// `::core::compile_error! { "message" }`, every token at the error's span so that the compiler
/// points there.
fn compile_error(error: &Error<Span>) -> TokenStream {
    let span = error.span;
    let mut message = Literal::string(&error.message);
    message.set_span(span);
    let mut group = Group::new(Delimiter::Brace, TokenStream::from(TokenTree::Literal(message)));
    group.set_span(span);
    let punct = |c, spacing| {
        let mut punct = Punct::new(c, spacing);
        punct.set_span(span);
        TokenTree::Punct(punct)
    };
    [
        punct(':', Spacing::Joint),
        punct(':', Spacing::Alone),
        TokenTree::Ident(Ident::new("core", span)),
        punct(':', Spacing::Joint),
        punct(':', Spacing::Alone),
        TokenTree::Ident(Ident::new("compile_error", span)),
        punct('!', Spacing::Alone),
        TokenTree::Group(group),
    ]
    .into_iter()
    .collect()
}
