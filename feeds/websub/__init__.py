"""WebSub (W3C Recommendation, 2018): hub links in every feed, pings to the hubs of
``hubs`` on every change, and a hub of our own (``feeds serve --hub``).

- :mod:`.links`: which hubs a feed names; how topic and callback URLs compare.
- :mod:`.net`: outgoing HTTP, with the guard against calls to private addresses.
- :mod:`.ping`: telling hubs of changed feeds.
- :mod:`.store`: the built-in hub's state, in SQLite.
- :mod:`.endpoint`: a subscription request, as a web worker takes it.
- :mod:`.hub`: verification, delivery and leases, in the server's watcher process.
"""
