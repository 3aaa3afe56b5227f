// The Worker that `Tessera.open` in `src/browser-kv.js` ('tessera-db/kv' in a browser) starts:
// the engine-only flavour (src/opfs-kv.js, no SQL) behind the request loop of
// src/worker-base.js. You do not load this file yourself.

import { Tessera } from './opfs-kv.js';
import { serve } from './worker-base.js';

serve(Tessera);
