//! Reply types of builders: the type a setter switches the builder to
//! (`typedis.reply_variants`: `WITHSCORES`, `SET … GET`), and the `Value` of a setter
//! whose tuple picks it at run time.

use super::*;

impl<'a> Command<'a> {
    /// The reply type when the optional argument `name` is set, if it changes the reply.
    pub(super) fn variant_reply(&self, name: &str) -> Option<TokenStream> {
        self.variants
            .iter()
            .find(|(when, _)| when.iter().any(|w| w == name))
            .map(|(_, ty)| ty.clone())
    }

    /// The reply type when the setter of `a` is called: its own variant, else (a block)
    /// the one its members pick. When members pick different ones, the choice is made
    /// by a value passed at run time (`options((count, withvalues))`), so the reply is a
    /// `Value`, with a doc line saying so.
    pub(super) fn setter_reply(&self, a: &Argument) -> (Option<TokenStream>, Option<String>) {
        if let Some(r) = self.variant_reply(&a.name) {
            return (Some(r), None);
        }
        let mut picked: Vec<(String, TokenStream)> = Vec::new();
        for m in &a.arguments {
            if let Some(r) = self.variant_reply(&m.name) {
                if !picked.iter().any(|(_, p)| p.to_string() == r.to_string()) {
                    picked.push((m.name.clone(), r));
                }
            }
        }
        match picked.len() {
            0 => (None, None),
            1 => (picked.pop().map(|(_, r)| r), None),
            _ => {
                let forms: Vec<String> = picked
                    .iter()
                    .map(|(n, t)| format!("`{}` with `{n}`", short_name(t)))
                    .collect();
                let doc = format!(
                    " Its reply depends on values of this tuple, so it is a `Value`: `.decode::<T>()` it ({}).",
                    forms.join(", ")
                );
                (Some(quote!(::typedis::Value)), Some(doc))
            }
        }
    }
}
