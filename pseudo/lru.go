package pseudo

// genCache is a bounded cache in two generations: new entries go to the
// current map; when it is full it becomes the old one and a fresh map
// starts, and a hit in the old map moves the entry forward. Recently used
// entries survive, nothing is scanned to evict, and memory stays below
// twice the size.
type genCache[V any] struct {
	cur, old map[string]V
	size     int
}

func newGenCache[V any](size int) *genCache[V] {
	return &genCache[V]{cur: make(map[string]V), size: size}
}

// get looks k up in both generations.
func (c *genCache[V]) get(k string) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.put(k, v) // k is still owned by the old map's key: safe to reuse
	}
	return v, ok
}

// put stores v under k; k must not alias memory that changes.
func (c *genCache[V]) put(k string, v V) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[string]V, c.size)
	}
	c.cur[k] = v
}
