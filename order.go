package dss

import "cmp"

// minRun is the shortest run sortEntries merges; shorter ones are made by
// insertion sort first.
const minRun = 32

// sortEntries sorts es by idnumber (the key at offset off in each object),
// stably: entries with one idnumber keep the order they came in, which is
// how a repeated idnumber's first record is told from the second.
//
// Exports are mostly sorted already, or made of a few sorted runs: numeric
// idnumbers compared as text give two runs once they grow a digit ("100000"
// < "1000000" < "100001"). So, like Timsort, it finds the runs and merges
// them pairwise: n log r comparisons for r runs, and one pass over memory
// per merge round, instead of n log n comparisons at random places. Input
// without long runs is cut into runs of minRun sorted by insertion, which
// makes it a plain merge sort.
func sortEntries[K cmp.Ordered](es []entry[K], off uintptr) {
	n := len(es)
	bounds := []int{0} // run i is es[bounds[i]:bounds[i+1]]
	for i := 1; i < n; i++ {
		if cmp.Less(es[i].key(off), es[i-1].key(off)) {
			bounds = append(bounds, i)
		}
	}
	if len(bounds) == 1 {
		return // sorted
	}
	if len(bounds) > n/minRun {
		bounds = bounds[:0]
		for lo := 0; lo < n; lo += minRun {
			insertionSort(es[lo:min(lo+minRun, n)], off)
			bounds = append(bounds, lo)
		}
	}
	bounds = append(bounds, n)

	src, dst := es, make([]entry[K], n)
	for len(bounds) > 2 {
		next := bounds[:1]
		for i := 0; i+1 < len(bounds); i += 2 {
			lo, mid := bounds[i], bounds[i+1]
			if i+2 == len(bounds) { // an odd run out: carried over as it is
				copy(dst[lo:mid], src[lo:mid])
				next = append(next, mid)
				continue
			}
			hi := bounds[i+2]
			merge(dst[lo:hi], src[lo:mid], src[mid:hi], off)
			next = append(next, hi)
		}
		bounds = next
		src, dst = dst, src
	}
	if &src[0] != &es[0] {
		copy(es, src)
	}
}

// merge merges the sorted a and b into dst, taking from a first on ties.
func merge[K cmp.Ordered](dst, a, b []entry[K], off uintptr) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if cmp.Less(b[j].key(off), a[i].key(off)) {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}

// insertionSort sorts a few entries stably.
func insertionSort[K cmp.Ordered](es []entry[K], off uintptr) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && cmp.Less(es[j].key(off), es[j-1].key(off)); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// before reports whether e's record came before f's: an entry's src only
// grows as records come, and lines count up within one source.
func (e entry[K]) before(f entry[K]) bool {
	if e.src != f.src {
		return e.src < f.src
	}
	return e.line < f.line
}
