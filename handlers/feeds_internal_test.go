package handlers

import (
	"strings"
	"testing"
)

func TestFeedCacheBoundedLRU(t *testing.T) {
	fc := newFeedCache(100)
	body := func(n int) []byte { return []byte(strings.Repeat("x", n)) }
	fc.put("a", "1", body(20))
	fc.put("b", "1", body(20))
	if _, ok := fc.get("a", "2"); ok {
		t.Fatal("served a body for another ETag")
	}
	if _, ok := fc.get("a", "1"); !ok {
		t.Fatal("missed a cached body")
	}
	fc.put("c", "1", body(20))
	fc.put("d", "1", body(20))
	fc.put("e", "1", body(20)) // 100 bytes: b is the least recently used
	fc.put("f", "1", body(20))
	if _, ok := fc.get("b", "1"); ok {
		t.Fatal("the least recently used entry was kept beyond the bound")
	}
	if _, ok := fc.get("a", "1"); !ok {
		t.Fatal("a recently used entry was evicted")
	}
	if fc.size > 100 {
		t.Fatalf("size %d over the bound", fc.size)
	}
	fc.put("big", "1", body(60)) // over a quarter of the bound: not cached
	if _, ok := fc.get("big", "1"); ok {
		t.Fatal("cached a body over a quarter of the bound")
	}
	off := newFeedCache(-1)
	off.put("a", "1", body(1))
	if _, ok := off.get("a", "1"); ok {
		t.Fatal("a disabled cache cached")
	}
}
