"use client";

import { useEffect, useRef, useState } from "react";

import { cn } from "@/lib/utils";

/**
 * A horizontal scroller that shows when there is more to see: a shade on the edge that hides
 * content (row actions usually sit in the last column), so a narrow window does not leave them
 * off-screen without a cue.
 */
export function ScrollCue({ className, children, ...props }: React.ComponentProps<"div">) {
  const ref = useRef<HTMLDivElement>(null);
  const [edges, setEdges] = useState({ isStartHidden: false, isEndHidden: false });

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const isStartHidden = el.scrollLeft > 1;
      const isEndHidden = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
      setEdges((prev) => (prev.isStartHidden === isStartHidden && prev.isEndHidden === isEndHidden ? prev : { isStartHidden, isEndHidden }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    if (el.firstElementChild) observer.observe(el.firstElementChild);
    el.addEventListener("scroll", measure, { passive: true });
    return () => {
      observer.disconnect();
      el.removeEventListener("scroll", measure);
    };
  }, []);

  return (
    <div
      ref={ref}
      data-overflow-start={edges.isStartHidden || undefined}
      data-overflow-end={edges.isEndHidden || undefined}
      className={cn(
        "overflow-x-auto",
        "data-[overflow-end]:shadow-[inset_-14px_0_10px_-10px_rgb(15_23_42/0.25)] data-[overflow-start]:shadow-[inset_14px_0_10px_-10px_rgb(15_23_42/0.25)]",
        "data-[overflow-start]:data-[overflow-end]:shadow-[inset_14px_0_10px_-10px_rgb(15_23_42/0.25),inset_-14px_0_10px_-10px_rgb(15_23_42/0.25)]",
        className,
      )}
      {...props}
    >
      {children}
    </div>
  );
}
