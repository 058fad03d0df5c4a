"""Regenerate docs/chat.svg: the chat, headless, after one request (Textual's save_screenshot).

    .venv/bin/python docs/screenshot.py --db STORE [--user ml100k-196] [--ask "something like Alien but funnier"]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


async def shoot(db: str, user: str, ask: str, out: Path) -> None:
    from textual.widgets import Input

    from tui.app import ChatApp
    from engine.chat.session import ChatSession

    app = ChatApp(ChatSession(db, user), autostart=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.workers.wait_for_complete()
        box = app.query_one("#ask", Input)
        box.value = ask
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape", "down", "w")  # select the results, explain the second row
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_screenshot(str(out.name), path=str(out.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--user", default="ml100k-196")
    ap.add_argument("--ask", default="something like Alien but funnier")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("chat.svg"))
    args = ap.parse_args()
    asyncio.run(shoot(args.db, args.user, args.ask, args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
