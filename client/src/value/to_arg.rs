//! [`ToArg`]: a Rust value as one command argument, for strings, bytes, numbers and
//! references to them; and [`Args::push`], which writes one.

use bytes::Bytes;

use crate::cmd::Args;

/// Writes a Rust value as exactly one command argument (a RESP bulk string).
///
/// Implemented for strings, byte slices, `Bytes`, integers and floats, and references to
/// them. Deliberately *not* implemented for `bool`, `()` or `Option<T>`: Redis has no
/// representation for them, so passing one is a compile error rather than a surprise.
///
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&true); // bool is not an argument
/// ```
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&Some("x")); // neither is Option
/// ```
/// ```compile_fail
/// # let mut args = typedis::Args::new();
/// args.push(&()); // nor ()
/// ```
pub trait ToArg {
    /// Appends this value as one argument.
    fn write_arg(&self, out: &mut Args);
}

impl Args {
    /// Appends anything that is [`ToArg`].
    #[inline]
    pub fn push<A: ToArg + ?Sized>(&mut self, arg: &A) {
        arg.write_arg(self);
    }
}

// ---------------------------------------------------------------- ToArg

impl ToArg for [u8] {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for Vec<u8> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for Bytes {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for bytes::BytesMut {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for str {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for String {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for std::borrow::Cow<'_, str> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.as_bytes());
    }
}

impl ToArg for std::borrow::Cow<'_, [u8]> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self);
    }
}

impl ToArg for char {
    fn write_arg(&self, out: &mut Args) {
        let mut buf = [0u8; 4];
        out.push_bytes(self.encode_utf8(&mut buf).as_bytes());
    }
}

macro_rules! int_to_arg {
    (signed: $($t:ty),*; unsigned: $($u:ty),*) => {
        $(impl ToArg for $t {
            #[inline]
            fn write_arg(&self, out: &mut Args) {
                out.push_i64(*self as i64);
            }
        })*
        $(impl ToArg for $u {
            #[inline]
            fn write_arg(&self, out: &mut Args) {
                out.push_u64(*self as u64);
            }
        })*
    };
}

int_to_arg!(signed: i8, i16, i32, i64, isize; unsigned: u8, u16, u32, u64, usize);

impl ToArg for i128 {
    fn write_arg(&self, out: &mut Args) {
        let mut b = itoa::Buffer::new();
        out.push_bytes(b.format(*self).as_bytes());
    }
}

impl ToArg for u128 {
    fn write_arg(&self, out: &mut Args) {
        let mut b = itoa::Buffer::new();
        out.push_bytes(b.format(*self).as_bytes());
    }
}

impl ToArg for f64 {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        out.push_f64(*self);
    }
}

impl ToArg for f32 {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        // Through the shortest f32 text, so 0.1f32 is sent as "0.1", not 0.10000000149….
        let mut b = ryu::Buffer::new();
        if self.is_finite() {
            let s = b.format_finite(*self);
            out.push_bytes(s.strip_suffix(".0").unwrap_or(s).as_bytes());
        } else {
            out.push_f64(*self as f64);
        }
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for &mut T {
    #[inline]
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for Box<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for std::sync::Arc<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for std::rc::Rc<T> {
    fn write_arg(&self, out: &mut Args) {
        (**self).write_arg(out);
    }
}
