//! CookieList: being written.
