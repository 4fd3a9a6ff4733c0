//! Generator of the typed command API.
