package eventmail

import "testing"

// A full cache forgets an eighth of its entries, not all of them: the
// emails of an opening stay rendered while others come in.
func TestBoundedCacheForgetsAFew(t *testing.T) {
	var c boundedCache[int, int]
	for i := range CacheSize {
		c.put(i, i)
	}
	if len(c.m) != CacheSize {
		t.Fatalf("%d entries, want %d", len(c.m), CacheSize)
	}
	c.put(-1, -1)
	if v, ok := c.get(-1); !ok || v != -1 {
		t.Fatal("the entry put last is not there")
	}
	if n := len(c.m); n != CacheSize-CacheSize/8+1 {
		t.Errorf("%d entries after one more, want %d", n, CacheSize-CacheSize/8+1)
	}
	kept := 0
	for i := range CacheSize {
		if v, ok := c.get(i); ok {
			if v != i {
				t.Fatalf("entry %d holds %d", i, v)
			}
			kept++
		}
	}
	if kept != CacheSize-CacheSize/8 {
		t.Errorf("%d of the first entries kept, want %d", kept, CacheSize-CacheSize/8)
	}
}
