//! The tracking allocator: a `GlobalAlloc` wrapper that prefixes every
//! allocation with a 16-byte header (more if its alignment is larger)
//! naming the scope that made it, so a free is credited to the allocating
//! scope whichever thread frees it (see `perf_runtime::memory` for
//! installing it, attribution and cost; scopes are [`crate::measure::scope`]).
//! A block sampled for the heap profile has the low bit of its owner set
//! and its site's number in the header's other word
//! ([`crate::measure::heap_profile`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::measure::scope::{on_alloc, on_free, Scope};

/// Size of the header in front of every allocation (at least; an
/// allocation aligned to more gets a header as large as its alignment).
const HEADER: usize = 16;

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether a [`TrackingAllocator`] is this process's global allocator.
pub fn is_installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// A global allocator that counts allocations per perf-test scope, wrapping
/// another allocator (the system one by default).
pub struct TrackingAllocator<A = System> {
    inner: A,
}

impl TrackingAllocator<System> {
    /// Tracking over the system allocator.
    pub const fn system() -> Self {
        TrackingAllocator { inner: System }
    }
}

impl<A> TrackingAllocator<A> {
    /// Tracking over `inner`.
    pub const fn new(inner: A) -> Self {
        TrackingAllocator { inner }
    }
}

/// The layout with room for the header in front, and the header's size.
#[inline]
fn outer(layout: Layout) -> Option<(Layout, usize)> {
    let offset = layout.align().max(HEADER);
    let size = layout.size().checked_add(offset)?;
    Some((
        Layout::from_size_align(size, layout.align().max(HEADER)).ok()?,
        offset,
    ))
}

/// The owner word's mark of a block sampled for the heap profile (scopes
/// are aligned to 8, so the bit is free).
const SAMPLED: usize = 1;

const WORD: usize = std::mem::size_of::<usize>();

/// Writes the owning scope (and a sampled block's site) just before the
/// user's bytes.
///
/// # Safety
/// `base` must point to an allocation of at least `offset` bytes, aligned
/// to at least 8, with `offset >= 16`.
#[inline]
unsafe fn write_owner(base: *mut u8, offset: usize, (owner, site): (*const Scope, u32)) -> *mut u8 {
    // SAFETY: the caller guarantees the room; `offset >= 16` and is a
    // multiple of the alignment (>= 16), so `user - 8` and `user - 16`
    // are 8-aligned and inside the header.
    unsafe {
        let user = base.add(offset);
        let word = if site == 0 {
            owner as usize
        } else {
            user.sub(2 * WORD).cast::<usize>().write(site as usize);
            owner as usize | SAMPLED
        };
        user.sub(WORD).cast::<usize>().write(word);
        user
    }
}

/// Reads the owning scope and the heap-profile site (0 if the block was
/// not sampled) written by [`write_owner`].
///
/// # Safety
/// `user` must have been returned by this allocator.
#[inline]
unsafe fn read_owner(user: *mut u8) -> (*const Scope, u32) {
    // SAFETY: see `write_owner`.
    unsafe {
        let word = user.sub(WORD).cast::<usize>().read();
        if word & SAMPLED == 0 {
            (word as *const Scope, 0)
        } else {
            let site = user.sub(2 * WORD).cast::<usize>().read();
            ((word & !SAMPLED) as *const Scope, site as u32)
        }
    }
}

/// Allocates `layout` with room for the header through `inner` (given the
/// outer layout), credits the allocation, and returns the user's part.
#[inline]
fn allocate(layout: Layout, inner: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
    let Some((outer, offset)) = outer(layout) else {
        return ptr::null_mut();
    };
    let base = inner(outer);
    if base.is_null() {
        return base;
    }
    let owner = on_alloc(layout.size());
    // SAFETY: `base` is a block of at least `outer.size()` bytes, aligned to
    // at least 16, of which the first `offset` are the header.
    unsafe { write_owner(base, offset, owner) }
}

// SAFETY: every block handed out is `offset` bytes into a block of the
// inner allocator, which satisfies the caller's alignment (the outer
// layout's alignment is at least the caller's and `offset` a multiple of
// it); blocks are returned to the inner allocator with the same outer
// layout they were obtained with.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `outer` layouts have a non-zero size (at least the header).
        allocate(layout, |outer| unsafe { self.inner.alloc(outer) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        allocate(layout, |outer| unsafe { self.inner.alloc_zeroed(outer) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (outer, offset) =
            outer(layout).expect("this layout was allocated, so its outer layout exists");
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe {
            let (owner, site) = read_owner(ptr);
            on_free(owner, site, layout.size());
            self.inner.dealloc(ptr.sub(offset), outer);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_outer, offset) =
            outer(layout).expect("this layout was allocated, so its outer layout exists");
        let Some(new_total) = new_size.checked_add(offset) else {
            return ptr::null_mut();
        };
        // SAFETY: `ptr` came from this allocator with `layout`; the header
        // moves with the block, then names the scope reallocating it.
        unsafe {
            let (owner, site) = read_owner(ptr);
            let base = self.inner.realloc(ptr.sub(offset), old_outer, new_total);
            if base.is_null() {
                return base;
            }
            on_free(owner, site, layout.size());
            let new_owner = on_alloc(new_size);
            write_owner(base, offset, new_owner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_layout_keeps_alignment_and_room() {
        for (size, align) in [(1, 1), (24, 8), (100, 16), (3, 64), (0, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            let (outer, offset) = outer(layout).unwrap();
            assert!(offset >= HEADER && offset % align == 0);
            assert!(outer.align() >= align && outer.size() == size + offset);
        }
    }

    #[test]
    fn allocator_round_trips_through_the_inner_allocator() {
        let a = TrackingAllocator::system();
        for (size, align) in [(1usize, 1usize), (24, 8), (100, 16), (3, 64), (4000, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: valid non-zero layouts; each block is used within its
            // size and returned with the layout it was made with.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                p.write_bytes(0xAB, size);
                let q = a.realloc(p, layout, size * 3);
                assert_eq!(q as usize % align, 0);
                assert_eq!(q.read(), 0xAB);
                q.add(size * 3 - 1).write(1);
                a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                let z = a.alloc_zeroed(layout);
                assert!((0..size).all(|i| z.add(i).read() == 0));
                a.dealloc(z, layout);
            }
        }
    }
}
