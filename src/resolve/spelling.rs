//! One Latin spelling for the several ways Russian is romanised.
//!
//! `Химпром` is `Khimprom` on one card and `Himprom` on another; `Юлия` is `Yuliya` in an
//! old passport, `Iuliia` in a new one (ICAO 9303) and `Julija` in a German CRM;
//! `Байкал` is `Baykal` and `Baikal`. Names are transliterated with one table
//! (`names::to_latin`), which settles Cyrillic input, but Latin input arrives in every
//! scheme. [`fold`] maps a word's Latin spelling onto one canonical form by collapsing
//! only the letter groups the schemes disagree on:
//!
//! | schemes write | folded |
//! |---|---|
//! | `shch`, `shh`, `sch` (щ) | `sch` |
//! | `kh`, `h` (х) | `h` |
//! | `ts`, `tz` (ц) | `ts` |
//! | `ks`, `x` (кс) | `ks` |
//! | `yu`, `iu`, `ju` (ю); `ya`, `ia`, `ja` (я) | `yu`, `ya` |
//! | `yo`, `e` (ё); a word-initial `ye`, `e` (е) | `e` |
//! | `y`, `i` (й after a vowel, `Baykal` / `Baikal`); final `iy`, `ii`; `yy`, `yi` | `y`; `iy`; `yy` |
//!
//! Deliberately left apart: single vowels (`Ромашка` / `Ромошка`, `ы` / `и`), which is
//! what a look-alike company's name differs by. Every name is folded the same way, English
//! ones too (`Onyx` → `onyks`), so folding never separates two spellings that were equal.

/// The canonical spelling of one lower-case Latin word.
pub fn fold(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    let at = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    let vowel = |i: usize| chars.get(i).is_some_and(|c| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y'));
    let mut out = String::with_capacity(word.len() + 2);
    let mut i = 0;
    while i < n {
        let (text, used) = if at(i, "shch") {
            ("sch", 4)
        } else if at(i, "shh") {
            ("sch", 3)
        } else if at(i, "kh") {
            ("h", 2)
        } else if at(i, "tz") {
            ("ts", 2)
        } else if at(i, "x") {
            ("ks", 1)
        } else if at(i, "iu") || at(i, "ju") {
            ("yu", 2)
        } else if at(i, "ia") || at(i, "ja") {
            ("ya", 2)
        } else if at(i, "yo") || (i == 0 && at(i, "ye")) {
            ("e", 2)
        } else if i + 2 == n && at(i, "ii") {
            ("iy", 2)
        } else if i + 2 == n && at(i, "yi") {
            ("yy", 2)
        } else if at(i, "i") && i > 0 && vowel(i - 1) && !vowel(i + 1) {
            ("y", 1)
        } else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        out.push_str(text);
        i += used;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(spellings: &[&str]) {
        let folded: Vec<String> = spellings.iter().map(|s| fold(s)).collect();
        assert!(folded.windows(2).all(|w| w[0] == w[1]), "{spellings:?} → {folded:?}");
    }

    #[test]
    fn the_schemes_spellings_of_one_word_fold_together() {
        same(&["khimprom", "himprom"]);
        same(&["yuliya", "iuliia", "julija"]);
        same(&["baykal", "baikal"]);
        same(&["shchukin", "shchukin", "schukin", "shhukin"]);
        same(&["tsentr", "tzentr"]);
        same(&["aleksandr", "alexandr"]);
        same(&["yelena", "elena"]);
        same(&["beryoza", "bereza"]);
        same(&["noyabrskiy", "noiabrskii"]);
        same(&["novyy", "novyi"]);
        same(&["zhar", "zhar"]);
    }

    #[test]
    fn look_alike_vowels_stay_apart() {
        assert_ne!(fold("romashka"), fold("romoshka"));
        assert_ne!(fold("sibir"), fold("sibyr"));
        assert_ne!(fold("pinecrest"), fold("pynecrest"));
        assert_eq!(fold("acme"), "acme");
    }
}
