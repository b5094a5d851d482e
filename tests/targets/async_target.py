# -*- coding: utf-8 -*-
"""Target: asyncio (Python 3.6+ only: async def syntax).

    python async_target.py ORACLE_PATH

An event loop runs outer() -> middle() -> (async for over) agen() ->
inner(), and inner(), the innermost async def, blocks in a synchronous
time.sleep after having been resumed once by the loop, so the whole
coroutine chain sits on the main thread's stack under the loop's frames.
"""
from __future__ import print_function

import asyncio
import time

import cspy_oracle as oracle


async def inner(x):
    await asyncio.sleep(0)
    oracle.here(); time.sleep(oracle.FOREVER)
    return x


async def agen():
    yield 1
    await inner(2)
    yield 3


async def middle():
    async for v in agen():
        pass


async def outer():
    await middle()


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(outer())


if __name__ == '__main__':
    main()
