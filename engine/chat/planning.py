"""A recommendation request made from the conversation so far: the seeds, the context ratings and the
candidates retrieval returns for them (scored later, by the session's `rank`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from db.types import Interaction, Item
from engine.rank.group import Member, interleave
from engine.rank.recommend import Relevance, retrieve, stored_part
from engine.rank.retrieval import Candidate, Query
from engine.rank.served import Order
from engine.vocab.describe import Vocabulary

from .state import ConversationState
from .store import ChatStore


@dataclass(frozen=True)
class Plan:
    """One recommendation request, retrieved and ready for the model."""

    seeds: tuple[Item, ...]
    history: list[Interaction]
    candidates: list[Candidate]
    count: int = 10
    note: str = ""  # what the plan had to give up, in words ("the catalog has nothing from 2019")
    own: list[Interaction] = field(default_factory=list)  # the user's stored ratings (history minus this request's context)
    members: tuple[Member, ...] = ()  # a group's list: everyone present, with their histories (engine.rank.group)


def plan_request(st: ConversationState, store: ChatStore, order: Order, user_id: int,
                 n_candidates: int, among: tuple[int, ...] | None = None, vocab: Vocabulary | None = None,
                 members: list[tuple[str, int]] | None = None) -> Plan:
    """Retrieve for the conversation so far, in the learned order (`order`): its liked titles and seeds, its
    disliked titles, genres and describing words are what the ranker reads; mentioned titles never come back. `among`: the candidates a caller limits every answer to (`engine ask --among`);
    "from my watchlist" narrows it to the person's watchlist."""
    now = time.time()
    items = store.items(st.positive + st.disliked)
    seeds = tuple(items[i] for i in st.positive if i in items)
    context = [Interaction(s.id, s.name, True, None, now, s.genres) for s in seeds if s.id not in st.liked]
    rated = {h.item_id for h in store.history(user_id)}
    context += [Interaction(i, items[i].name, False, None, now, items[i].genres) for i in st.disliked
                if i in items and i not in rated]
    f = st.filters()
    if st.watchlist:
        listed = store.watchlist(user_id)
        among = tuple(i for i in listed if among is None or i in set(among))
    query = Query(None, f.year_min, f.year_max, f.genres if f.only else (), f.exclude_genres, store.domain,
                  prefer_genres=() if f.only else f.genres, author=st.author, among=among,
                  popularity=st.popularity, min_ratings=st.min_ratings)

    relevance = words_relevance(st, vocab)

    def fetch(q: Query, exclude: tuple[int, ...] = (), user: int | None = None):
        """Retrieval for the asking user (or, in a group, another member: their own likes seed it)."""
        mine = user is None or user == user_id
        with store.lock:
            return retrieve(store.db, order, user_id if mine else user, q, n_candidates,
                            context if mine else None, seeds=tuple(s.id for s in seeds) if mine or seeds else None,
                            disliked=tuple(st.disliked), exclude=tuple(st.mentioned) + tuple(st.disliked) + exclude,
                            relevance=relevance)

    history, cands = fetch(query)
    note = ""
    if among is not None and not among:
        note = ("Your watchlist is empty here: `engine data import letterboxd EXPORT --user NAME` reads "
                "watchlist.csv (IMDb: `engine data import imdb WATCHLIST.csv --user NAME`).")
    if not cands and (f.year_min or f.year_max):  # "a comedy from 2019" in a catalog that ends in 1998
        history, cands = fetch(replace(query, year_min=None, year_max=None))
        note = f"Nothing in the catalog matches the years {_years(f.year_min, f.year_max)}, so I left them out."
    if members:
        return group_plan(Plan(seeds, history, cands, st.count, note, own=stored_part(history, context)),
                          members, fetch, query, store, context)
    return Plan(seeds, history, cands, st.count, note, own=stored_part(history, context))


def group_plan(mine: Plan, members: list[tuple[str, int]], fetch, query: Query, store: ChatStore,
               context: list[Interaction]) -> Plan:
    """The group's candidates: every member's own retrieval, none that any member rated or saw, interleaved
    so each member's best come early; each member's history goes with the plan (their prompts, features)."""
    histories = {uid: store.history(uid) for _, uid in members}
    rated = tuple({h.item_id for hs in histories.values() for h in hs})
    pool = interleave([fetch(query, exclude=rated, user=uid)[1] for _, uid in members])
    crew = tuple(Member(name, tuple(histories[uid] + (context if k == 0 else []))) for k, (name, uid) in enumerate(members))
    return replace(mine, candidates=pool, members=crew)


def words_relevance(st: ConversationState, vocab: Vocabulary | None) -> Relevance | None:
    """What the conversation's describing words ask of each item, or None when it has none the catalog reads."""
    if vocab is None or not (st.words or st.avoid_words):
        return None
    wanted = [w for w in (vocab.want(label) for label in st.words) if w]
    avoided = [w for w in (vocab.want(label) for label in st.avoid_words) if w]
    if not wanted and not avoided:
        return None
    return Relevance(lambda ids: vocab.score(wanted, avoided, ids), only=st.only_words and bool(wanted))


def _years(lo: int | None, hi: int | None) -> str:
    return f"{lo}-{hi}" if lo and hi else f"from {lo}" if lo else f"up to {hi}"
