"""The words people use for a genre, mapped to the catalog's genre names (ML-100K's, which every
MovieLens release shares); the title linker and the filter reader both consult it."""

from __future__ import annotations

# Words people use → ML-100K genre names (the catalog's `genres` column).
GENRE_WORDS: dict[str, str] = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure",
    "animation": "Animation", "animated": "Animation", "cartoon": "Animation", "cartoons": "Animation",
    "children's": "Children's", "children": "Children's", "kids": "Children's", "family": "Children's",
    "comedy": "Comedy", "comedies": "Comedy", "funny": "Comedy", "funnier": "Comedy", "funniest": "Comedy",
    "humor": "Comedy", "humour": "Comedy", "crime": "Crime", "gangster": "Crime", "heist": "Crime",
    "documentary": "Documentary", "documentaries": "Documentary", "docs": "Documentary", "drama": "Drama",
    "dramas": "Drama", "fantasy": "Fantasy", "noir": "Film-Noir", "film-noir": "Film-Noir",
    "horror": "Horror", "scary": "Horror", "scarier": "Horror",
    "musical": "Musical", "musicals": "Musical", "mystery": "Mystery", "mysteries": "Mystery",
    "romance": "Romance", "romantic": "Romance", "romances": "Romance", "rom-com": "Romance", "romcom": "Romance",
    "sci-fi": "Sci-Fi", "scifi": "Sci-Fi", "science-fiction": "Sci-Fi",
    "thriller": "Thriller", "thrillers": "Thriller", "suspense": "Thriller",
    "war": "War", "western": "Western", "westerns": "Western",
}


def genre(word: str) -> str | None:
    w = word.lower()
    return GENRE_WORDS.get(w) or (GENRE_WORDS.get(w[:-1]) if w.endswith("s") else None)
